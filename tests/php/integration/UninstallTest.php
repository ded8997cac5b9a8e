<?php
/**
 * Deleting the plugin, as wp-admin and `wp plugin uninstall` do it (uninstall.php, with the
 * plugin already inactive and not loaded), on a scratch copy of the store: the schedules always
 * go; options and tables only when the owner chose so.
 *
 * @package Cachicamo_Sync
 */

/**
 * Uninstall tests.
 */
class UninstallTest extends Cachicamo_Sync_Test_Case {

	/**
	 * The sidecar's tables in a database.
	 *
	 * @param string $db Database.
	 * @return string[]
	 */
	private function tables( $db ) {
		global $wpdb;
		return $wpdb->get_col( $wpdb->prepare( 'SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_NAME LIKE %s ORDER BY TABLE_NAME', $db, $wpdb->esc_like( $wpdb->prefix . 'cachicamo' ) . '%' ) );
	}

	/**
	 * Deactivates, then deletes the plugin in another process, as the Plugins screen does.
	 *
	 * @param array $store A scratch store.
	 */
	private function uninstall( array $store ) {
		$site = array( 'path' => $store['dir'] );
		self::wp_ok( array( 'plugin', 'deactivate', 'cachicamo-sync' ), $site );
		$out = self::wp_ok( array( 'plugin', 'uninstall', 'cachicamo-sync' ), $site );
		$this->assertStringContainsString( "Uninstalled and deleted 'cachicamo-sync' plugin.", $out );
		$this->assertFileDoesNotExist( $store['dir'] . '/wp-content/plugins/cachicamo-sync/cachicamo-sync.php' );
	}

	/**
	 * Which of these options a scratch store holds.
	 *
	 * @param array    $store   A scratch store.
	 * @param string[] $options Names.
	 * @return string[]
	 */
	private function options( array $store, array $options ) {
		global $wpdb;
		$in = implode( ',', array_fill( 0, count( $options ), '%s' ) );
		// phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- a database name this class made; placeholders.
		return $wpdb->get_col( $wpdb->prepare( "SELECT option_name FROM `{$store['db']}`.{$wpdb->prefix}options WHERE option_name IN ($in) ORDER BY option_name", $options ) );
	}

	/**
	 * Whether any of the plugin's events is scheduled in a scratch store.
	 *
	 * @param array $store A scratch store.
	 * @return string[] Their hooks.
	 */
	private function our_events( array $store ) {
		$hooks = json_decode( self::wp_ok( array( 'cron', 'event', 'list', '--fields=hook', '--format=json' ), array( 'path' => $store['dir'] ) ), true );
		return array_values( array_filter( array_column( (array) $hooks, 'hook' ), fn( $hook ) => str_starts_with( $hook, 'cachicamo' ) ) );
	}

	public function test_without_consent_only_the_schedules_go() {
		$store  = $this->scratch_store( 'keep' );
		$tables = $this->tables( $store['db'] );
		$this->assertCount( 6, $tables );
		$this->assertNotSame( array(), $this->our_events( $store ) );
		$this->uninstall( $store );
		$this->assertSame( array(), $this->our_events( $store ) );
		$this->assertSame( $tables, $this->tables( $store['db'] ), 'the tables stay' );
		$this->assertSame( array( Cachicamo_Sync_Settings::OPTION ), $this->options( $store, array( Cachicamo_Sync_Settings::OPTION ) ), 'the settings stay' );
	}

	public function test_with_consent_the_data_goes_too() {
		$store = $this->scratch_store( 'delete' );
		$site  = array( 'path' => $store['dir'] );
		// Every option the plugin may leave, so that each one's removal is seen.
		$consent = 'foreach ( Cachicamo_Sync_Uninstaller::OPTIONS as $o ) { add_option( $o, "1" ); }'
			. ' update_option( Cachicamo_Sync_Settings::OPTION, array_merge( Cachicamo_Sync_Settings::get(), array( "delete_data_on_uninstall" => "yes" ) ) );';
		self::wp_ok( array( 'eval', $consent ), $site );
		$this->assertCount( count( Cachicamo_Sync_Uninstaller::OPTIONS ), $this->options( $store, Cachicamo_Sync_Uninstaller::OPTIONS ) );
		$this->uninstall( $store );
		$this->assertSame( array(), $this->tables( $store['db'] ) );
		$this->assertSame( array(), $this->options( $store, Cachicamo_Sync_Uninstaller::OPTIONS ) );
		$this->assertSame( array(), $this->our_events( $store ) );
		$this->assertSame( array( 'siteurl', 'woocommerce_version' ), $this->options( $store, array( 'siteurl', 'woocommerce_version' ) ), 'nothing else is touched' );
		$this->assertCount( 6, $this->tables( getenv( 'CACHICAMO_TEST_DB' ) ), 'the test store itself is untouched' );
	}
}
