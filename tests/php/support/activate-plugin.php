<?php
/**
 * Activates Cachicamo Sync as wp-admin would (running its activation hook). Usage: php
 * activate-plugin.php WP_ROOT
 *
 * @package Cachicamo_Sync
 */

$_SERVER['HTTP_HOST']   = 'localhost';
$_SERVER['REQUEST_URI'] = '/';
require rtrim( $argv[1], '/' ) . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/plugin.php';
$result = activate_plugin( 'cachicamo-sync/cachicamo-sync.php' );
if ( is_wp_error( $result ) ) {
	fwrite( STDERR, $result->get_error_message() . "\n" );
	exit( 1 );
}
echo "activated\n";
