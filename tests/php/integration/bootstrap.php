<?php
/**
 * Loads the test site installed by tests/php/run (WordPress core with Cachicamo Sync active,
 * a seeded store, a running sidecar and simulator), plus a stand-in for the WP_CLI class.
 *
 * @package Cachicamo_Sync
 */

$root = getenv( 'CACHICAMO_WP_ROOT' );
if ( ! $root || ! file_exists( $root . '/wp-load.php' ) ) {
	fwrite( STDERR, "Run these tests through tests/php/run: CACHICAMO_WP_ROOT is not a WordPress install.\n" );
	exit( 1 );
}
$_SERVER['HTTP_HOST']   = 'localhost';
$_SERVER['REQUEST_URI'] = '/';
define( 'WP_CLI', true );
require __DIR__ . '/wp-cli-stand-in.php';
require __DIR__ . '/wp-cli-utils-stand-in.php';
require $root . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/plugin.php';
require_once __DIR__ . '/TestCase.php';
