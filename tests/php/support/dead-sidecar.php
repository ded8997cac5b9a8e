<?php
/**
 * For WP-CLI's --require: the plugin's client points at a socket nothing listens on, as when the
 * sidecar is stopped. Loaded before WordPress, hence WP_CLI::add_wp_hook().
 *
 * @package Cachicamo_Sync
 */

WP_CLI::add_wp_hook(
	'cachicamo_sync_client',
	function () {
		return new Cachicamo_Sync_Client( '/nonexistent/cachicamo.sock', 1.0 );
	}
);
