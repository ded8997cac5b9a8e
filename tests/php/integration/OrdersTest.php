<?php
/**
 * Orders: when WooCommerce reduces stock for a paid order (HPOS on: the order lives in
 * wc_orders), the order's SKUs are queued for WP-Cron, and that event, run as WP-Cron runs it,
 * syncs them at once; a dead sidecar never breaks the order.
 *
 * @package Cachicamo_Sync
 */

use Automattic\WooCommerce\Utilities\OrderUtil;

/**
 * Order-driven selective sync tests, with real WooCommerce orders.
 */
class OrdersTest extends Cachicamo_Sync_Test_Case {

	/**
	 * Products whose stock this test changed in the simulator.
	 *
	 * @var array
	 */
	private $moved = array();

	protected function setUp(): void {
		// The order e-mails have nowhere to go.
		add_filter( 'pre_wp_mail', '__return_true' );
		// Only this test's order events are run by `wp cron event run`.
		wp_unschedule_hook( Cachicamo_Sync_Cron::SELECTIVE_HOOK );
	}

	protected function tearDown(): void {
		remove_filter( 'pre_wp_mail', '__return_true' );
		wp_unschedule_hook( Cachicamo_Sync_Cron::SELECTIVE_HOOK );
		// Cachicamo's figures as seeded again, for whichever test syncs these products next.
		foreach ( $this->moved as $product ) {
			self::sim( 'stock', array( 'sku' => $product['sku'], 'stock_billable' => $product['stock'] ) );
		}
	}

	/**
	 * Places and pays an order for one of each product, as checkout does.
	 *
	 * @param int[] $product_ids Products.
	 * @return WC_Order
	 */
	private function paid_order( array $product_ids ) {
		$order = wc_create_order();
		foreach ( $product_ids as $id ) {
			$order->add_product( wc_get_product( $id ), 1 );
		}
		$order->set_billing_email( 'buyer@example.com' );
		$order->calculate_totals();
		$order->save();
		// Payment is what makes WooCommerce reduce stock (wc_maybe_reduce_stock_levels).
		$order->payment_complete();
		return wc_get_order( $order->get_id() );
	}

	/**
	 * A product's stock as WooCommerce reads it in a fresh request.
	 *
	 * @param int $id Product id.
	 * @return int|null
	 */
	private static function stock( $id ) {
		clean_post_cache( $id );
		return wc_get_product( $id )->get_stock_quantity();
	}

	public function test_a_paid_order_queues_its_skus_and_the_cron_event_syncs_them() {
		self::wait_for_idle();
		$a     = self::expected( 'simple' )[20];
		$b     = self::expected( 'variation' )[0];
		$alias = array_values( array_filter( self::dataset()['expected'], fn( $e ) => 'simple' === $e['kind'] && '' === $e['sku'] && $e['found'] ) )[0];
		$this->moved = array( $a, $b );
		self::sim( 'stock', array( 'sku' => $a['sku'], 'stock_billable' => 3 ) );
		self::sim( 'stock', array( 'sku' => $b['sku'], 'stock_billable' => 0 ) );
		$before = self::stock( $a['product_id'] );

		$order = $this->paid_order( array( $a['product_id'], $b['product_id'], $alias['product_id'] ) );
		$this->assertTrue( OrderUtil::custom_orders_table_usage_is_enabled(), 'HPOS is on' );
		$this->assertSame( 'processing', $order->get_status() );
		global $wpdb;
		$this->assertSame( '1', $wpdb->get_var( $wpdb->prepare( "SELECT COUNT(*) FROM {$wpdb->prefix}wc_orders WHERE id = %d", $order->get_id() ) ), 'the order is in the HPOS table' );
		$this->assertSame( $before - 1, self::stock( $a['product_id'] ), 'WooCommerce reduced the stock' );
		$args = array( array( $a['sku'], $b['sku'], 'WC-' . $alias['product_id'] ), $order->get_id() );
		$this->assertNotFalse( wp_next_scheduled( Cachicamo_Sync_Cron::SELECTIVE_HOOK, $args ), 'checkout only queued the SKUs, the product without one by its alias' );

		$started = microtime( true );
		$out     = self::wp_ok( array( 'cron', 'event', 'run', Cachicamo_Sync_Cron::SELECTIVE_HOOK ) );
		$this->assertLessThan( 10, microtime( true ) - $started );
		$this->assertStringContainsString( 'Success: Executed a total of 1 cron event.', $out );
		$this->assertFalse( wp_next_scheduled( Cachicamo_Sync_Cron::SELECTIVE_HOOK, $args ), 'a single event: done once' );
		$this->assertSame( 3, self::stock( $a['product_id'] ) );
		$this->assertSame( 'outofstock', wc_get_product( $b['product_id'] )->get_stock_status() );
		$this->assertSame( $alias['stock'], self::stock( $alias['product_id'] ), 'the alias reached its Cachicamo item' );
		$finalized = array_column( self::client()->list_changes( 1000, 0, true )['changes'], 'finalized', 'product_id' );
		$this->assertTrue( $finalized[ $a['product_id'] ] ?? false, 'the event finalized the change' );
	}

	public function test_a_dead_sidecar_never_breaks_the_order() {
		$dead = fn() => new Cachicamo_Sync_Client( '/nonexistent/cachicamo.sock', 1.0 );
		add_filter( 'cachicamo_sync_client', $dead );
		try {
			$product = self::expected( 'simple' )[21];
			$before  = self::stock( $product['product_id'] );
			$order   = $this->paid_order( array( $product['product_id'] ) );
			$this->assertSame( 'processing', $order->get_status() );
			$this->assertSame( $before - 1, self::stock( $product['product_id'] ) );
		} finally {
			remove_filter( 'cachicamo_sync_client', $dead );
		}
		$result = self::wp( array( 'cron', 'event', 'run', Cachicamo_Sync_Cron::SELECTIVE_HOOK ), array( 'require' => array( __DIR__ . '/../support/dead-sidecar.php' ) ) );
		$this->assertSame( 0, $result['code'], 'the failure is only logged: ' . $result['err'] );
		$this->assertSame( '', $result['err'] );
		$logs = glob( WP_CONTENT_DIR . '/uploads/wc-logs/cachicamo-sync-*.log' );
		$this->assertNotEmpty( $logs, 'WooCommerce → Status → Logs has a cachicamo-sync log' );
		$this->assertStringContainsString( 'selective sync of order ' . $order->get_id() . ': The Cachicamo Sync sidecar is not running', implode( '', array_map( 'file_get_contents', $logs ) ) );
	}
}
