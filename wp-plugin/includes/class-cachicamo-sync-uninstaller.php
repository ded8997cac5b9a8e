<?php
/**
 * What deleting the plugin removes.
 *
 * @package Cachicamo_Sync
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Uninstall logic, kept apart from uninstall.php so it can be tested.
 */
class Cachicamo_Sync_Uninstaller {

	const OPTIONS = array(
		Cachicamo_Sync_Settings::OPTION,
		'cachicamoapp_last_stock_sync',
		'cachicamoapp_last_stock_sync_count',
		'cachicamoapp_last_stock_sync_errors',
		'cachicamoapp_last_stock_sync_not_found',
		'cachicamo_sync_paused',
		Cachicamo_Sync_Alerts::CACHE_OPTION,
		Cachicamo_Sync_Alerts::DOWN_OPTION,
		Cachicamo_Sync_Notifier::LAST_ID_OPTION,
		Cachicamo_Sync_Notifier::OPEN_OPTION,
	);
	const TABLES  = array( 'cachicamoapp_batch_queue', 'cachicamo_runs', 'cachicamo_changes', 'cachicamo_locks', 'cachicamo_alerts', 'cachicamo_migrations' );

	/**
	 * Removes events, and data when the owner asked for it.
	 *
	 * @return bool Whether data was deleted.
	 */
	public static function run() {
		global $wpdb;
		Cachicamo_Sync_Cron::unschedule();
		if ( 'yes' !== Cachicamo_Sync_Settings::get()['delete_data_on_uninstall'] ) {
			return false;
		}
		foreach ( self::OPTIONS as $option ) {
			delete_option( $option );
		}
		foreach ( self::TABLES as $table ) {
			// Table names come from WordPress's own prefix and a fixed list; nothing user-given.
			$wpdb->query( 'DROP TABLE IF EXISTS `' . esc_sql( $wpdb->prefix . $table ) . '`' ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery, WordPress.DB.PreparedSQL.NotPrepared
		}
		return true;
	}
}
