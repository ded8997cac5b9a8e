<?php
/**
 * The panel's AJAX actions. Each checks the capability and the nonce before anything else,
 * and answers JSON with a sentence a shop owner can act on when something is wrong.
 *
 * @package Cachicamo_Sync
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * AJAX handlers.
 */
class Cachicamo_Sync_Ajax {

	const NONCE_ACTION = 'cachicamo_sync_admin';

	/**
	 * Hooks the logged-in AJAX actions (there are no public ones).
	 */
	public static function register() {
		add_action( 'wp_ajax_cachicamo_sync_start', array( __CLASS__, 'start' ) );
		add_action( 'wp_ajax_cachicamo_sync_status', array( __CLASS__, 'status' ) );
		add_action( 'wp_ajax_cachicamo_sync_retry_failed', array( __CLASS__, 'retry_failed' ) );
	}

	/**
	 * Refuses the request unless the user may manage the shop and the nonce is valid.
	 */
	private static function guard() {
		if ( ! current_user_can( Cachicamo_Sync_Plugin::capability() ) ) {
			wp_send_json_error( array( 'message' => __( 'You are not allowed to manage Cachicamo Sync.', 'cachicamo-sync' ) ), 403 );
		}
		if ( ! check_ajax_referer( self::NONCE_ACTION, 'nonce', false ) ) {
			wp_send_json_error( array( 'message' => __( 'Your session has expired: reload the page and try again.', 'cachicamo-sync' ) ), 403 );
		}
	}

	/**
	 * "Force Inventory Sync": starts a run, or reports the one already running.
	 */
	public static function start() {
		self::guard();
		try {
			$response = Cachicamo_Sync_Sidecar::client( 30.0 )->start_sync( 'manual' );
			wp_send_json_success(
				array(
					'started' => (bool) $response['started'],
					'run'     => Cachicamo_Sync_Status::run_view( $response['run'] ),
					'message' => $response['started']
						? __( 'Sync started.', 'cachicamo-sync' )
						: __( 'A sync is already running; showing its progress.', 'cachicamo-sync' ),
				)
			);
		} catch ( RuntimeException $e ) {
			wp_send_json_error( array( 'message' => $e->getMessage() ), 503 );
		}
	}

	/**
	 * The panel's poll; it also finalizes products the sidecar changed meanwhile.
	 */
	public static function status() {
		self::guard();
		try {
			$client = Cachicamo_Sync_Sidecar::client( 3.0 );
			Cachicamo_Sync_Finalizer::finalize_pending( $client );
			wp_send_json_success( Cachicamo_Sync_Status::collect( $client ) );
		} catch ( RuntimeException $e ) {
			wp_send_json_success(
				array(
					'ok'        => false,
					'message'   => $e->getMessage(),
					'last_sync' => (string) get_option( 'cachicamoapp_last_stock_sync', '' ),
				)
			);
		}
	}

	/**
	 * "Retry failed": puts the last run's failed batches back in the queue.
	 */
	public static function retry_failed() {
		self::guard();
		try {
			$response = Cachicamo_Sync_Sidecar::client( 10.0 )->retry_failed( 0 );
			$count    = (int) $response['batches_requeued'];
			wp_send_json_success(
				array(
					'requeued' => $count,
					/* translators: %d: number of batches. */
					'message'  => sprintf( _n( '%d failed batch is queued again.', '%d failed batches are queued again.', $count, 'cachicamo-sync' ), $count ),
				)
			);
		} catch ( RuntimeException $e ) {
			wp_send_json_error( array( 'message' => $e->getMessage() ), 503 );
		}
	}
}
