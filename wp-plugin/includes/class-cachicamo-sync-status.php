<?php
/**
 * What the panel, the AJAX poll and `wp cachicamo status` show: the sidecar's state, the current
 * or last run, failed batches, recent changes, alerts, figures and the old plugin's last-sync
 * options.
 *
 * @package Cachicamo_Sync
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Collects and names the sidecar's status.
 */
class Cachicamo_Sync_Status {

	// The panel's alert history; the sidecar keeps more.
	const ALERT_HISTORY = 10;

	const RUN_RUNNING  = 2;
	const BATCH_ERROR  = 4;
	const RUN_STATUSES = array(
		1 => 'planning',
		2 => 'running',
		3 => 'completed',
		4 => 'completed_with_errors',
		5 => 'failed',
		6 => 'cancelled',
	);
	const ENGINE_STATES = array(
		1 => 'idle',
		2 => 'planning',
		3 => 'running',
		4 => 'paused',
		5 => 'error',
		6 => 'starting',
		7 => 'recovering',
	);

	/**
	 * A run status's name.
	 *
	 * @param int $status RunStatus value.
	 * @return string
	 */
	public static function run_status_name( $status ) {
		return self::RUN_STATUSES[ (int) $status ] ?? 'unknown';
	}

	/**
	 * An engine state's name.
	 *
	 * @param int $state EngineState value.
	 * @return string
	 */
	public static function engine_state_name( $state ) {
		return self::ENGINE_STATES[ (int) $state ] ?? 'unknown';
	}

	/**
	 * A moment for the panel, in the site's timezone: the time alone today, else the date too.
	 *
	 * @param int $timestamp Unix seconds; 0 for never.
	 * @return string
	 */
	public static function when( $timestamp ) {
		if ( $timestamp <= 0 ) {
			return __( 'never', 'cachicamo-sync' );
		}
		$time = (string) get_option( 'time_format' );
		if ( wp_date( 'Y-m-d', $timestamp ) === wp_date( 'Y-m-d' ) ) {
			return wp_date( $time, $timestamp );
		}
		return wp_date( get_option( 'date_format' ) . ' ' . $time, $timestamp );
	}

	/**
	 * "Engine: running since 12:01".
	 *
	 * @param string $state  The engine state's name.
	 * @param int    $since  When it began, Unix seconds.
	 * @param bool   $paused Whether claiming is paused.
	 * @return string
	 */
	public static function engine_text( $state, $since, $paused ) {
		$name = $paused ? __( 'paused', 'cachicamo-sync' ) : $state;
		if ( $since <= 0 ) {
			/* translators: %s: engine state, e.g. idle or running. */
			return sprintf( __( 'Engine: %s', 'cachicamo-sync' ), $name );
		}
		/* translators: 1: engine state, e.g. idle or running, 2: when it began. */
		return sprintf( __( 'Engine: %1$s since %2$s', 'cachicamo-sync' ), $name, self::when( $since ) );
	}

	/**
	 * A run as the panel shows it.
	 *
	 * @param array $run A Run message.
	 * @return array
	 */
	public static function run_view( array $run ) {
		$totals  = is_array( $run['totals'] ?? null ) ? $run['totals'] : array();
		$total   = (int) $run['total_batches'];
		$done    = (int) $run['batches_done'];
		$running = self::RUN_RUNNING === (int) $run['status'];
		return array(
			'id'             => (int) $run['id'],
			'status'         => self::run_status_name( $run['status'] ),
			'running'        => $running,
			'total_batches'  => $total,
			'batches_done'   => $done,
			'batches_failed' => (int) $run['batches_failed'],
			'percent'        => $total > 0 ? (int) floor( $done * 100 / $total ) : ( $running ? 0 : 100 ),
			'total_skus'     => (int) $run['total_skus'],
			'synced'         => (int) ( $totals['synced'] ?? 0 ),
			'changed'        => (int) ( $totals['changed'] ?? 0 ),
			'errors'         => (int) ( $totals['errors'] ?? 0 ),
			'not_found'      => (int) ( $totals['not_found'] ?? 0 ),
			'conflicts'      => (int) ( $totals['conflicts'] ?? 0 ),
			'duration_ms'    => (int) $run['duration_ms'],
			'error_message'  => (string) $run['error_message'],
		);
	}

	/**
	 * Everything the panel needs, or `ok => false` with one sentence when the sidecar is out of
	 * reach.
	 *
	 * @param Cachicamo_Sync_Client|null $client A client, or one on the configured socket.
	 * @return array
	 */
	public static function collect( $client = null ) {
		$data = array(
			'ok'          => false,
			'message'     => '',
			'last_sync'   => (string) get_option( 'cachicamoapp_last_stock_sync', '' ),
			'engine_text' => __( 'Engine: unknown', 'cachicamo-sync' ),
		);
		try {
			$client  = $client ? $client : Cachicamo_Sync_Sidecar::client( 3.0 );
			$status  = $client->get_status();
			Cachicamo_Sync_Alerts::remember( $status );
			$current = is_array( $status['current_run'] ) ? self::run_view( $status['current_run'] ) : null;
			$last    = is_array( $status['last_run'] ) ? self::run_view( $status['last_run'] ) : null;
			$shown   = $current ? $current : $last;
			$health  = is_array( $status['health'] ) ? $status['health'] : array();

			$failed = array();
			if ( $shown && $shown['batches_failed'] > 0 ) {
				foreach ( $client->list_batches( $shown['id'], self::BATCH_ERROR, 20 )['batches'] as $batch ) {
					$failed[] = array(
						'number'  => (int) $batch['batch_number'],
						'total'   => (int) $batch['total_batches'],
						'message' => (string) $batch['error_message'],
					);
				}
			}
			$changes = array();
			foreach ( $client->list_changes( 20, 0, true )['changes'] as $change ) {
				$changes[] = array(
					'product_id' => (int) $change['product_id'],
					'name'       => (string) get_post_field( 'post_title', (int) $change['product_id'], 'raw' ),
					'sku'        => (string) $change['sku'],
					'old_stock'  => (string) $change['old_stock'],
					'new_stock'  => (string) $change['new_stock'],
					'old_price'  => (string) $change['old_price'],
					'new_price'  => (string) $change['new_price'],
					'changed_at' => (int) $change['changed_at'],
				);
			}
			$metrics = Cachicamo_Sync_Metrics::view( $client->get_metrics( Cachicamo_Sync_Metrics::CHART_RUNS ) );
			$state   = self::engine_state_name( $status['state'] );
			$data    = array_merge(
				$data,
				array(
					'ok'             => true,
					'state'          => $state,
					'state_since'    => (int) $status['state_since'],
					'engine_text'    => self::engine_text( $state, (int) $status['state_since'], (bool) $status['paused'] ),
					'paused'         => (bool) $status['paused'],
					'run'            => $shown,
					'running'        => (bool) $current,
					'database_ok'    => (bool) ( $health['database_ok'] ?? false ),
					'api_ok'         => (bool) ( $health['api_ok'] ?? false ),
					'api_message'    => (string) ( $health['api_message'] ?? '' ),
					'last_error'     => (string) $status['last_error'],
					'failed_batches' => $failed,
					'recent_changes' => $changes,
					'alerts'         => array_map( array( 'Cachicamo_Sync_Alerts', 'view' ), $status['active_alerts'] ),
					'alert_history'  => array_map( array( 'Cachicamo_Sync_Alerts', 'view' ), array_slice( $status['recent_alerts'], 0, self::ALERT_HISTORY ) ),
					'metrics'        => $metrics,
				)
			);
		} catch ( RuntimeException $e ) {
			$data['message'] = $e->getMessage();
		}
		$data['health_text'] = self::health_text( $data );
		return $data;
	}

	/**
	 * The sidecar's health in a few words.
	 *
	 * @param array $data Collected status.
	 * @return string
	 */
	public static function health_text( array $data ) {
		if ( empty( $data['ok'] ) ) {
			return __( 'not reachable', 'cachicamo-sync' );
		}
		if ( empty( $data['database_ok'] ) ) {
			return __( 'running, but it cannot reach the database', 'cachicamo-sync' );
		}
		if ( empty( $data['api_ok'] ) ) {
			/* translators: %s: the API error. */
			return sprintf( __( 'running, but Cachicamo is not answering: %s', 'cachicamo-sync' ), $data['api_message'] );
		}
		// The engine's state has a line of its own (engine_text).
		return __( 'healthy', 'cachicamo-sync' );
	}
}
