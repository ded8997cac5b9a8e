<?php
/**
 * Loads the classes under test, without WordPress: they have no side effects.
 *
 * @package Cachicamo_Sync
 */

foreach ( array( 'protobuf', 'messages', 'sidecar-unavailable', 'rpc-error', 'client' ) as $cachicamo_sync_class ) {
	require_once dirname( __DIR__, 3 ) . '/wp-plugin/includes/class-cachicamo-sync-' . $cachicamo_sync_class . '.php';
}
