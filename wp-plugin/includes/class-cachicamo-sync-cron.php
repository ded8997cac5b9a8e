<?php
/**
 * WP-Cron: the old plugin's minute schedule and hook names, each answered by one call to the
 * sidecar. The sidecar decides whether a scheduled run is due; WordPress only ticks.
 *
 * @package Cachicamo_Sync
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Schedules and cron handlers.
 */
class Cachicamo_Sync_Cron {

	const SCHEDULE       = 'cachicamoapp_one_minute';
	const TICK_HOOK      = 'cachicamoapp_process_batch_queue';
	const FULL_SYNC_HOOK = 'cachicamoapp_update_stock_from_api';
	const SELECTIVE_HOOK = 'cachicamo_sync_selective';

	/**
	 * Adds the one-minute recurrence (on every load: WordPress keeps no list of its own).
	 *
	 * @param array $schedules Schedules.
	 * @return array
	 */
	public static function add_schedule( $schedules ) {
		$schedules[ self::SCHEDULE ] = array(
			'interval' => MINUTE_IN_SECONDS,
			'display'  => __( 'Every minute (Cachicamo Sync)', 'cachicamo-sync' ),
		);
		return $schedules;
	}

	/**
	 * Hooks the handlers and keeps the schedules in place.
	 */
	public static function register() {
		add_action( self::TICK_HOOK, array( __CLASS__, 'tick' ) );
		add_action( self::FULL_SYNC_HOOK, array( __CLASS__, 'full_sync_due' ) );
		add_action( self::SELECTIVE_HOOK, array( 'Cachicamo_Sync_Orders', 'run_selective' ), 10, 2 );
		add_action( 'init', array( __CLASS__, 'schedule' ) );
	}

	/**
	 * Schedules the minute tick and the next full sync, once each.
	 */
	public static function schedule() {
		if ( ! wp_next_scheduled( self::TICK_HOOK ) ) {
			wp_schedule_event( time(), self::SCHEDULE, self::TICK_HOOK );
		}
		if ( ! wp_next_scheduled( self::FULL_SYNC_HOOK ) ) {
			wp_schedule_single_event( time() + Cachicamo_Sync_Settings::interval_minutes() * MINUTE_IN_SECONDS, self::FULL_SYNC_HOOK );
		}
	}

	/**
	 * Removes every event of this plugin.
	 */
	public static function unschedule() {
		wp_clear_scheduled_hook( self::TICK_HOOK );
		wp_clear_scheduled_hook( self::FULL_SYNC_HOOK );
		wp_unschedule_hook( self::SELECTIVE_HOOK );
	}

	/**
	 * After the interval changes, the next full sync moves with it.
	 */
	public static function reschedule_full_sync() {
		wp_clear_scheduled_hook( self::FULL_SYNC_HOOK );
		wp_schedule_single_event( time() + Cachicamo_Sync_Settings::interval_minutes() * MINUTE_IN_SECONDS, self::FULL_SYNC_HOOK );
	}

	/**
	 * Every minute: the sidecar reclaims expired leases, starts a due run, resumes work and
	 * evaluates its alerts; new alerts are reported and the products it changed are finalized
	 * here.
	 *
	 * @return array|null The tick response, or null when the sidecar could not be reached.
	 */
	public static function tick() {
		$client = Cachicamo_Sync_Sidecar::client( 10.0 );
		try {
			$response = $client->tick( 200 );
		} catch ( Cachicamo_Sync_Sidecar_Unavailable $e ) {
			Cachicamo_Sync_Sidecar::log( 'cron tick: ' . $e->getMessage() );
			Cachicamo_Sync_Notifier::sidecar_unreachable( $e->getMessage() );
			return null;
		} catch ( RuntimeException $e ) {
			Cachicamo_Sync_Sidecar::log( 'cron tick: ' . $e->getMessage() );
			if ( self::is_database_outage( $e ) ) {
				Cachicamo_Sync_Notifier::sidecar_unreachable( $e->getMessage() );
			} else {
				// Any other error status is still an answer: the sidecar is there.
				Cachicamo_Sync_Notifier::sidecar_answered();
			}
			return null;
		}
		Cachicamo_Sync_Notifier::sidecar_answered();
		// Apart, so that a failed finalize does not hold back an alert, nor the other way round.
		try {
			Cachicamo_Sync_Notifier::alerts( $client->get_status() );
		} catch ( RuntimeException $e ) {
			Cachicamo_Sync_Sidecar::log( 'cron tick, alerts: ' . $e->getMessage() );
		}
		try {
			Cachicamo_Sync_Finalizer::finalize_and_ack( $client, $response['pending_changes'] );
		} catch ( RuntimeException $e ) {
			Cachicamo_Sync_Sidecar::log( 'cron tick, finalize: ' . $e->getMessage() );
			return null;
		}
		return $response;
	}

	/**
	 * A sidecar that answers but cannot reach its database can do no work either: that is an
	 * outage to report like a dead sidecar.
	 *
	 * @param RuntimeException $e What the tick failed with.
	 * @return bool
	 */
	private static function is_database_outage( RuntimeException $e ) {
		return $e instanceof Cachicamo_Sync_Rpc_Error
			&& Cachicamo_Sync_Rpc_Error::UNAVAILABLE === $e->get_grpc_code()
			&& 0 === strpos( $e->getMessage(), 'cannot reach the database' );
	}

	/**
	 * The old plugin's full-sync event: ask for a scheduled run (the sidecar checks the interval),
	 * then plan the next one.
	 */
	public static function full_sync_due() {
		self::tick();
		self::reschedule_full_sync();
	}
}
