<?php
/**
 * Orders: when an order reduces stock, its SKUs are synced at once in a cron request of their
 * own, and a dead sidecar never breaks the order.
 *
 * @package Cachicamo_Sync
 */

/**
 * Order-driven selective sync tests. WooCommerce is not installed here, so the order is a
 * stand-in with WC_Order's methods; the sync it triggers is the real one.
 */
class OrdersTest extends Cachicamo_Sync_Test_Case {

	/**
	 * An object with the WC_Order methods the plugin uses.
	 *
	 * @param array $products [id, sku] pairs.
	 * @param int   $order_id Order id.
	 * @return object
	 */
	private function order( array $products, $order_id ) {
		$items = array();
		foreach ( $products as list( $id, $sku ) ) {
			$product = new class( $id, $sku ) {
				public function __construct( private int $id, private string $sku ) {}
				public function get_id() {
					return $this->id;
				}
				public function get_sku() {
					return $this->sku;
				}
			};
			$items[] = new class( $product ) {
				public function __construct( private object $product ) {}
				public function get_product() {
					return $this->product;
				}
			};
		}
		return new class( $items, $order_id ) {
			public function __construct( private array $items, private int $id ) {}
			public function get_items() {
				return $this->items;
			}
			public function get_id() {
				return $this->id;
			}
		};
	}

	public function test_an_order_queues_its_skus_and_the_cron_request_syncs_them() {
		self::wait_for_idle();
		$a = self::expected( 'simple' )[20];
		$b = self::expected( 'variation' )[0];
		self::sim( 'stock', array( 'sku' => $a['sku'], 'stock_billable' => 3 ) );
		self::sim( 'stock', array( 'sku' => $b['sku'], 'stock_billable' => 0 ) );

		$order = $this->order( array( array( $a['product_id'], $a['sku'] ), array( $b['product_id'], $b['sku'] ), array( 999999, '' ) ), 501 );
		do_action( 'woocommerce_reduce_order_stock', $order );
		$args = array( array( $a['sku'], $b['sku'], 'WC-999999' ), 501 );
		$this->assertNotFalse( wp_next_scheduled( Cachicamo_Sync_Cron::SELECTIVE_HOOK, $args ), 'checkout only queued the SKUs' );

		$started  = microtime( true );
		$response = Cachicamo_Sync_Orders::run_selective( ...$args );
		$this->assertLessThan( 5, microtime( true ) - $started );
		$outcomes = wp_list_pluck( $response['results'], 'outcome', 'sku' );
		$this->assertSame( 'changed', $outcomes[ $a['sku'] ] );
		$this->assertSame( 'changed', $outcomes[ $b['sku'] ] );
		$this->assertSame( 'not_found', $outcomes['WC-999999'] );
		wp_cache_delete( $a['product_id'], 'post_meta' );
		wp_cache_delete( $b['product_id'], 'post_meta' );
		$this->assertSame( '3', get_post_meta( $a['product_id'], '_stock', true ) );
		$this->assertSame( 'outofstock', get_post_meta( $b['product_id'], '_stock_status', true ) );
		wp_clear_scheduled_hook( Cachicamo_Sync_Cron::SELECTIVE_HOOK, $args );
	}

	public function test_a_dead_sidecar_never_breaks_the_order() {
		$dead = fn() => new Cachicamo_Sync_Client( '/nonexistent/cachicamo.sock', 1.0 );
		add_filter( 'cachicamo_sync_client', $dead );
		try {
			$order = $this->order( array( array( 1, 'ANY-SKU' ) ), 502 );
			do_action( 'woocommerce_reduce_order_stock', $order );
			$this->assertNull( Cachicamo_Sync_Orders::run_selective( array( 'ANY-SKU' ), 502 ), 'the failure is only logged' );
		} finally {
			remove_filter( 'cachicamo_sync_client', $dead );
			wp_clear_scheduled_hook( Cachicamo_Sync_Cron::SELECTIVE_HOOK, array( array( 'ANY-SKU' ), 502 ) );
		}
	}
}
