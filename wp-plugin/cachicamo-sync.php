<?php
/**
 * Plugin Name:       Cachicamo Sync
 * Plugin URI:        https://cachicamo.app/
 * Description:       Keeps WooCommerce stock and prices in step with Cachicamo App, through the Cachicamo Sync sidecar. Replaces "Cachicamo App for WooCommerce" and keeps its settings.
 * Version:           0.1.0
 * Requires at least: 6.7
 * Requires PHP:      8.1
 * WC requires at least: 8.0
 * WC tested up to:   10.0
 * License:           GPL-2.0-or-later
 * Text Domain:       cachicamo-sync
 *
 * @package Cachicamo_Sync
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

define( 'CACHICAMO_SYNC_VERSION', '0.1.0' );
define( 'CACHICAMO_SYNC_FILE', __FILE__ );
define( 'CACHICAMO_SYNC_DIR', plugin_dir_path( __FILE__ ) );

foreach ( array(
	'class-cachicamo-sync-protobuf',
	'class-cachicamo-sync-messages',
	'class-cachicamo-sync-sidecar-unavailable',
	'class-cachicamo-sync-rpc-error',
	'class-cachicamo-sync-client',
	'class-cachicamo-sync-settings',
	'class-cachicamo-sync-sidecar',
	'class-cachicamo-sync-finalizer',
	'class-cachicamo-sync-cron',
	'class-cachicamo-sync-orders',
	'class-cachicamo-sync-status',
	'class-cachicamo-sync-metrics',
	'class-cachicamo-sync-alerts',
	'class-cachicamo-sync-notifier',
	'class-cachicamo-sync-admin-page',
	'class-cachicamo-sync-admin-notice',
	'class-cachicamo-sync-ajax',
	'class-cachicamo-sync-uninstaller',
	'class-cachicamo-sync-plugin',
) as $cachicamo_sync_class_file ) {
	require_once CACHICAMO_SYNC_DIR . 'includes/' . $cachicamo_sync_class_file . '.php';
}

// No "Requires Plugins: woocommerce": the Tools page, WP-CLI and WP-Cron work without it.
// Orders are only read through WC_Order and the checkout is never touched, so the plugin is
// compatible with HPOS and the block checkout; undeclared, WooCommerce lists it as incompatible.
add_action(
	'before_woocommerce_init',
	function () {
		if ( class_exists( '\Automattic\WooCommerce\Utilities\FeaturesUtil' ) ) {
			\Automattic\WooCommerce\Utilities\FeaturesUtil::declare_compatibility( 'custom_order_tables', CACHICAMO_SYNC_FILE, true );
			\Automattic\WooCommerce\Utilities\FeaturesUtil::declare_compatibility( 'cart_checkout_blocks', CACHICAMO_SYNC_FILE, true );
		}
	}
);

register_activation_hook( __FILE__, array( 'Cachicamo_Sync_Plugin', 'activate' ) );
register_deactivation_hook( __FILE__, array( 'Cachicamo_Sync_Plugin', 'deactivate' ) );

Cachicamo_Sync_Plugin::instance()->boot();
