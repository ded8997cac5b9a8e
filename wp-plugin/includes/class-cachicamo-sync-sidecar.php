<?php
/**
 * The way to the sidecar: a client on the configured socket, and logging of what failed.
 *
 * @package Cachicamo_Sync
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Client factory and log.
 */
class Cachicamo_Sync_Sidecar {

	/**
	 * A client on the configured socket.
	 *
	 * @param float $timeout_seconds Longest wait for one call.
	 * @return Cachicamo_Sync_Client
	 */
	public static function client( $timeout_seconds = 5.0 ) {
		$client = apply_filters( 'cachicamo_sync_client', null, $timeout_seconds );
		if ( $client instanceof Cachicamo_Sync_Client ) {
			return $client;
		}
		return new Cachicamo_Sync_Client( Cachicamo_Sync_Settings::socket_path(), (float) $timeout_seconds );
	}

	/**
	 * Logs a problem to WooCommerce's log when it is there (source cachicamo-sync), else PHP's.
	 * Messages come from the sidecar, which never puts credentials in them.
	 *
	 * @param string $message What happened.
	 * @param string $level   PSR-3 level.
	 */
	public static function log( $message, $level = 'warning' ) {
		if ( function_exists( 'wc_get_logger' ) ) {
			wc_get_logger()->log( $level, $message, array( 'source' => 'cachicamo-sync' ) );
			return;
		}
		// phpcs:ignore WordPress.PHP.DevelopmentFunctions.error_log_error_log -- the fallback log without WooCommerce.
		error_log( 'Cachicamo Sync: ' . $message );
	}
}
