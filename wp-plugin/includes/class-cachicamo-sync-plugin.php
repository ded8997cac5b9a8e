<?php
/**
 * Wiring: which class answers which WordPress hook. No sync logic lives in the plugin; it
 * forwards to the sidecar and tells WordPress about the products the sidecar changed.
 *
 * @package Cachicamo_Sync
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * The plugin's entry point.
 */
class Cachicamo_Sync_Plugin {

	/**
	 * The one instance.
	 *
	 * @var Cachicamo_Sync_Plugin|null
	 */
	private static $instance = null;

	/**
	 * The one instance.
	 *
	 * @return Cachicamo_Sync_Plugin
	 */
	public static function instance() {
		if ( null === self::$instance ) {
			self::$instance = new self();
		}
		return self::$instance;
	}

	/**
	 * Registers hooks. The old plugin is checked once every plugin has loaded.
	 */
	public function boot() {
		add_filter( 'cron_schedules', array( 'Cachicamo_Sync_Cron', 'add_schedule' ) );
		add_action( 'plugins_loaded', array( $this, 'load' ), 20 );
	}

	/**
	 * Whether the plugin this one replaces is active too; both would run a sync.
	 *
	 * @return bool
	 */
	public static function legacy_plugin_active() {
		return defined( 'CACHICAMO_APP_VERSION' ) || class_exists( 'CachicamoApp_For_Woo', false );
	}

	/**
	 * The capability every admin action requires: WooCommerce's when it is there.
	 *
	 * @return string
	 */
	public static function capability() {
		$capability = class_exists( 'WooCommerce', false ) ? 'manage_woocommerce' : 'manage_options';
		return (string) apply_filters( 'cachicamo_sync_capability', $capability );
	}

	/**
	 * Hooks everything up, unless the old plugin is active.
	 */
	public function load() {
		if ( self::legacy_plugin_active() ) {
			add_action( 'admin_notices', array( $this, 'legacy_notice' ) );
			return;
		}
		Cachicamo_Sync_Cron::register();
		Cachicamo_Sync_Orders::register();
		Cachicamo_Sync_Admin_Page::register();
		Cachicamo_Sync_Admin_Notice::register();
		Cachicamo_Sync_Ajax::register();
		add_filter( 'woocommerce_integrations', array( $this, 'add_integration' ) );
		if ( defined( 'WP_CLI' ) && WP_CLI ) {
			require_once CACHICAMO_SYNC_DIR . 'includes/class-cachicamo-sync-cli.php';
			WP_CLI::add_command( 'cachicamo', 'Cachicamo_Sync_CLI' );
		}
	}

	/**
	 * Adds the settings screen under WooCommerce → Settings → Integration.
	 *
	 * @param array $integrations Integration class names.
	 * @return array
	 */
	public function add_integration( $integrations ) {
		require_once CACHICAMO_SYNC_DIR . 'includes/class-cachicamo-sync-integration.php';
		$integrations[] = 'Cachicamo_Sync_Integration';
		return $integrations;
	}

	/**
	 * Tells the admin why nothing runs while the old plugin is active.
	 */
	public function legacy_notice() {
		if ( ! current_user_can( 'activate_plugins' ) ) {
			return;
		}
		printf(
			'<div class="notice notice-error"><p>%s</p></div>',
			esc_html__( 'Cachicamo Sync is inactive while "Cachicamo App for WooCommerce" is active: deactivate the old plugin. Cachicamo Sync replaces it and keeps its settings, queue and sync history.', 'cachicamo-sync' )
		);
	}

	/**
	 * Activation: schedule the minute tick.
	 */
	public static function activate() {
		Cachicamo_Sync_Cron::schedule();
	}

	/**
	 * Deactivation: nothing of ours stays scheduled.
	 */
	public static function deactivate() {
		Cachicamo_Sync_Cron::unschedule();
	}
}
