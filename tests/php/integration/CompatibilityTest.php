<?php
/**
 * WooCommerce counts Cachicamo Sync as compatible with the features a new store has on (HPOS):
 * its FeaturesController says so, and neither Settings → Advanced → Features nor the Plugins
 * screen shows an incompatibility warning. A scratch store with an extension that declares
 * nothing shows that those pages do warn when they should.
 *
 * @package Cachicamo_Sync
 */

use Automattic\WooCommerce\Internal\Features\FeaturesController;
use Automattic\WooCommerce\Utilities\PluginUtil;

/**
 * Compatibility tests.
 */
class CompatibilityTest extends Cachicamo_Sync_Test_Case {

	const FEATURES_PAGE = '/wp-admin/admin.php?page=wc-settings&tab=advanced&section=features';
	const PLUGINS_PAGE  = '/wp-admin/plugins.php';
	const INCOMPATIBLE  = '/wp-admin/plugins.php?plugin_status=incompatible_with_feature&feature_id=custom_order_tables';

	// WooCommerce's words for an incompatible plugin, on every admin screen, the Features page and
	// a plugin's row.
	const NOTICE  = 'WooCommerce has detected that some of your active plugins are incompatible';
	const FLAGGED = 'Incompatible plugin';
	const ROW     = 'This plugin is incompatible with the enabled WooCommerce feature';

	/**
	 * Asserts that a page holds (or lacks) a text, without printing the whole page on failure.
	 *
	 * @param bool   $expected Whether the text must be there.
	 * @param string $needle   Text.
	 * @param string $html     Page.
	 * @param string $what     Which page.
	 */
	private function assertPageHas( $expected, $needle, $html, $what ) {
		$this->assertSame( $expected, str_contains( $html, $needle ), ( $expected ? 'missing on ' : 'shown on ' ) . "$what: $needle" );
	}

	public function test_the_headers_say_what_the_plugin_needs_and_was_tested_with() {
		$ours = get_plugin_data( WP_PLUGIN_DIR . '/' . self::PLUGIN, false, false );
		$woo  = get_plugin_data( WP_PLUGIN_DIR . '/woocommerce/woocommerce.php', false, false );
		$this->assertSame( '', $ours['RequiresPlugins'], 'the Tools page and WP-CLI work without WooCommerce' );
		$this->assertTrue( version_compare( $ours['RequiresWP'], $woo['RequiresWP'], '>=' ), 'no older WordPress than WooCommerce itself needs' );
		$this->assertTrue( version_compare( get_bloginfo( 'version' ), $ours['RequiresWP'], '>=' ) );
		$this->assertTrue( version_compare( WC_VERSION, $ours['WC requires at least'], '>=' ) );
		$this->assertSame( implode( '.', array_slice( explode( '.', WC_VERSION ), 0, 2 ) ), $ours['WC tested up to'], 'tested up to the WooCommerce these tests run' );
		$this->assertTrue( wc_get_container()->get( PluginUtil::class )->is_woocommerce_aware_plugin( self::PLUGIN ), 'so WooCommerce checks its compatibility' );
	}

	public function test_the_features_controller_finds_no_incompatible_plugin() {
		$features = wc_get_container()->get( FeaturesController::class );
		$this->assertTrue( $features->feature_is_enabled( 'custom_order_tables' ), 'HPOS is on in this store' );
		foreach ( array( 'custom_order_tables', 'cart_checkout_blocks' ) as $feature ) {
			$plugins = $features->get_compatible_plugins_for_feature( $feature, true );
			$this->assertContains( self::PLUGIN, $plugins['compatible'], $feature );
			$this->assertSame( array(), $plugins['incompatible'], $feature );
			$this->assertSame( array(), $plugins['uncertain'], $feature );
		}
		$this->assertSame( array(), $features->get_compatible_features_for_plugin( self::PLUGIN, true )['incompatible'] );
		// What the Plugins screen's "Incompatible with WooCommerce features" view lists.
		$this->assertSame( array(), array_keys( $features->get_incompatible_plugins( 'all', get_plugins() ) ) );
	}

	/**
	 * The warnings of WooCommerce on the three screens of a site.
	 *
	 * @param string     $url   The site's address.
	 * @param array|null $store A scratch store, or null for the test site.
	 * @return array features, plugins, incompatible: the HTML of each.
	 */
	private function screens( $url, $store = null ) {
		$pages = array(
			'features'     => self::admin_get( $url . self::FEATURES_PAGE, $store ),
			'plugins'      => self::admin_get( $url . self::PLUGINS_PAGE, $store ),
			'incompatible' => self::admin_get( $url . self::INCOMPATIBLE, $store ),
		);
		// The pages are the real ones, not a login form or an error.
		$this->assertPageHas( true, 'name="woocommerce_custom_orders_table_enabled"', $pages['features'], 'features' );
		$this->assertSame( 1, preg_match( '/<tr class="active[^"]*" data-slug="cachicamo-sync" data-plugin="cachicamo-sync\/cachicamo-sync.php"/', $pages['plugins'] ), 'Cachicamo Sync is listed, active, on the Plugins screen' );
		return $pages;
	}

	public function test_neither_the_features_page_nor_the_plugins_screen_warns() {
		$pages = $this->screens( (string) getenv( 'CACHICAMO_SITE_URL' ) );
		$this->assertPageHas( false, self::FLAGGED, $pages['features'], 'features' );
		$this->assertPageHas( false, self::NOTICE, $pages['features'], 'features' );
		$this->assertPageHas( false, self::NOTICE, $pages['plugins'], 'plugins' );
		$this->assertSame( 1, preg_match( "/Incompatible with 'High-Performance order storage' <span class='count'>\\(0\\)<\\/span>/", $pages['incompatible'] ), 'the incompatible view counts none' );
		$this->assertPageHas( false, 'data-plugin="cachicamo-sync/cachicamo-sync.php"', $pages['incompatible'], 'incompatible' );
		$this->assertPageHas( false, self::ROW, $pages['incompatible'], 'incompatible' );
	}

	public function test_an_extension_that_declares_nothing_is_flagged_and_this_one_is_not() {
		$store = $this->scratch_store( 'compat' );
		$dir   = $store['dir'] . '/wp-content/plugins/cachicamo-undeclared';
		mkdir( $dir );
		file_put_contents( $dir . '/cachicamo-undeclared.php', "<?php\n/**\n * Plugin Name: Undeclared Extension\n * WC tested up to: 10.0\n */\n" );
		self::wp_ok( array( 'plugin', 'activate', 'cachicamo-undeclared' ), array( 'path' => $store['dir'] ) );
		$this->serve( $store );

		$pages = $this->screens( $store['url'], $store );
		$this->assertPageHas( true, '⚠ 1 ' . self::FLAGGED . ' detected (Undeclared Extension).', $pages['features'], 'features' );
		$this->assertPageHas( true, self::NOTICE, $pages['plugins'], 'plugins' );
		$this->assertPageHas( true, 'data-plugin="cachicamo-undeclared/cachicamo-undeclared.php"', $pages['incompatible'], 'incompatible' );
		$this->assertPageHas( true, self::ROW, $pages['incompatible'], 'incompatible' );
		$this->assertPageHas( false, 'data-plugin="cachicamo-sync/cachicamo-sync.php"', $pages['incompatible'], 'incompatible' );
	}
}
