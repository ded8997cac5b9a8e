<?php
/**
 * `wp eval-file settle.php WORK DELIVERY_URL`: finishes the store build.php made, in a second
 * process (after WooCommerce's deferred parent syncs ran at the first one's shutdown): puts the
 * attribute lookup back on WooCommerce's default queued updates, creates an active "Product
 * updated" webhook, dates every product two days back (so "was it modified" is visible), and
 * fills the caches a live shop has.
 *
 * @package Cachicamo_Sync
 */

require_once __DIR__ . '/lib.php';

global $wpdb;
$work  = $args[0];
$url   = $args[1];
$cases = fid_cases( $work );

delete_option( 'woocommerce_attribute_lookup_direct_updates' );

$webhook = new WC_Webhook();
$webhook->set_name( 'Fidelity: product updated' );
$webhook->set_user_id( 1 );
$webhook->set_topic( 'product.updated' );
$webhook->set_secret( 'fidelity' );
$webhook->set_delivery_url( $url );
$webhook->set_status( 'active' );
$webhook->set_api_version( 'wp_api_v3' );
$webhook->save();
if ( ! $webhook->get_id() ) {
	fwrite( STDERR, "the webhook was not created\n" );
	exit( 1 );
}

$ids  = array_map( fn( $c ) => (int) $c['id'], $cases );
$list = implode( ',', $ids );
// phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
$wpdb->query(
	"UPDATE {$wpdb->posts} SET post_date = post_date - INTERVAL 2 DAY, post_date_gmt = post_date_gmt - INTERVAL 2 DAY,
	 post_modified = post_modified - INTERVAL 2 DAY, post_modified_gmt = post_modified_gmt - INTERVAL 2 DAY WHERE ID IN ($list)"
);
foreach ( $ids as $id ) {
	clean_post_cache( $id );
}
// Nothing of the build may still wait in WooCommerce's queue.
$pending = (int) $wpdb->get_var( "SELECT COUNT(*) FROM {$wpdb->prefix}actionscheduler_actions WHERE status = 'pending' AND hook IN ('woocommerce_run_product_attribute_lookup_update_callback', 'woocommerce_deliver_webhook_async')" );
if ( $pending ) {
	fwrite( STDERR, "the build left $pending product actions queued\n" );
	exit( 1 );
}
fid_prime( $cases );
echo wp_json_encode( array( 'webhook' => $webhook->get_id() ) ), "\n";
