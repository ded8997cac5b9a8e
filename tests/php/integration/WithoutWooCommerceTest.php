<?php
/**
 * Why the plugin has no "Requires Plugins: woocommerce": with WooCommerce deactivated (a scratch
 * copy of the store), Cachicamo Sync stays active, its Tools page still works for an
 * administrator (manage_options instead of manage_woocommerce), and so do WP-CLI and the tick.
 *
 * @package Cachicamo_Sync
 */

/**
 * Tests on plain WordPress.
 */
class WithoutWooCommerceTest extends Cachicamo_Sync_Test_Case {

	public function test_the_tools_page_cli_and_cron_work_without_woocommerce() {
		$store = $this->scratch_store( 'nowoo' );
		$site  = array( 'path' => $store['dir'] );
		self::wp_ok( array( 'plugin', 'deactivate', 'woocommerce' ), $site );
		$active = explode( "\n", trim( self::wp_ok( array( 'plugin', 'list', '--status=active', '--field=name' ), $site ) ) );
		$this->assertSame( array( 'cachicamo-sync' ), $active, 'Cachicamo Sync stays active on its own' );

		$this->assertSame( 'idle', self::json_of( self::wp_ok( array( 'cachicamo', 'status', '--format=json' ), $site ) )[0]['state'] );
		$this->assertStringContainsString( 'Success: Executed a total of 1 cron event.', self::wp_ok( array( 'cron', 'event', 'run', Cachicamo_Sync_Cron::TICK_HOOK ), $site ) );

		$this->serve( $store );
		$html = self::admin_get( $store['url'] . '/wp-admin/tools.php?page=cachicamo-sync', $store );
		$this->assertStringContainsString( '<div id="cachicamo-sync-panel"', $html );
		$this->assertStringContainsString( 'Force Inventory Sync', $html );
		$this->assertMatchesRegularExpression( '/<div class="notice notice-error inline" data-role="error" hidden>/', $html, 'the sidecar answers' );
		$this->assertStringContainsString( 'assets/admin.js', $html, 'the panel is live' );
		$this->assertStringNotContainsString( 'wc-settings', $html, 'no WooCommerce screen' );
	}
}
