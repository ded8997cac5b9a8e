<?php
/**
 * Installs WordPress core into the database named by the site's wp-config.php and activates
 * Cachicamo Sync, the way the installer would. Usage: php install-wp.php WP_ROOT SITE_URL
 *
 * @package Cachicamo_Sync
 */

if ( $argc < 3 ) {
	fwrite( STDERR, "usage: php install-wp.php WP_ROOT SITE_URL\n" );
	exit( 2 );
}
define( 'WP_INSTALLING', true );
$_SERVER['HTTP_HOST']   = parse_url( $argv[2], PHP_URL_HOST ) . ':' . parse_url( $argv[2], PHP_URL_PORT );
$_SERVER['REQUEST_URI'] = '/';
require rtrim( $argv[1], '/' ) . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
// The installer's welcome e-mail has nowhere to go on a test machine.
add_filter( 'pre_wp_mail', '__return_true' );

$result = wp_install( 'Cachicamo Sync test shop', 'admin', 'admin@example.com', false, '', 'cachicamo-admin-pass' );
if ( is_wp_error( $result ) ) {
	fwrite( STDERR, $result->get_error_message() . "\n" );
	exit( 1 );
}
update_option( 'siteurl', $argv[2] );
update_option( 'home', $argv[2] );
wp_insert_user(
	array(
		'user_login' => 'subscriber',
		'user_pass'  => 'subscriber-pass',
		'user_email' => 'subscriber@example.com',
		'role'       => 'subscriber',
	)
);
echo "installed\n";
