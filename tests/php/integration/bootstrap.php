<?php
/**
 * Loads the test store made by tests/php/run (a clone of the real WordPress + WooCommerce store
 * with Cachicamo Sync active, seeded, with a running sidecar and simulator) into this process.
 * WP-CLI is not loaded here: the tests run the real one as a subprocess.
 *
 * @package Cachicamo_Sync
 */

$cachicamo_sync_root = getenv( 'CACHICAMO_WP_ROOT' );
if ( ! $cachicamo_sync_root || ! file_exists( $cachicamo_sync_root . '/wp-load.php' ) || ! getenv( 'CACHICAMO_WP_CLI' ) ) {
	fwrite( STDERR, "Run these tests through tests/php/run: CACHICAMO_WP_ROOT is not a WordPress install.\n" );
	exit( 1 );
}
// The request a browser would make to the site tests/php/run serves (WordPress is not loaded
// yet, hence PHP's parse_url).
$cachicamo_sync_site    = parse_url( (string) getenv( 'CACHICAMO_SITE_URL' ) ); // phpcs:ignore WordPress.WP.AlternativeFunctions.parse_url_parse_url
$_SERVER['HTTP_HOST']   = $cachicamo_sync_site['host'] . ( isset( $cachicamo_sync_site['port'] ) ? ':' . $cachicamo_sync_site['port'] : '' );
$_SERVER['REQUEST_URI'] = '/';

require $cachicamo_sync_root . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/plugin.php';
require_once __DIR__ . '/TestCase.php';
