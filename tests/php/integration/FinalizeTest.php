<?php
/**
 * Finalize: for every product the sidecar changed with SQL, WordPress's and WooCommerce's caches
 * are cleared and WooCommerce's stock and price actions fire, then the change is acknowledged;
 * WooCommerce's own reads in the same request see the new values.
 *
 * @package Cachicamo_Sync
 */

/**
 * Finalize tests.
 */
class FinalizeTest extends Cachicamo_Sync_Test_Case {

	public function test_changed_products_are_finalized_once_and_acknowledged() {
		self::settle();
		$products = array_slice( self::expected( 'simple' ), 10, 4 );
		$variant  = self::expected( 'variation' )[5];
		foreach ( array_merge( $products, array( $variant ) ) as $p ) {
			$product = wc_get_product( $p['product_id'] );
			$product->set_stock_quantity( 7777 );
			$product->save();
			// What a page earlier in this request would have cached.
			$this->assertSame( 7777, wc_get_product( $p['product_id'] )->get_stock_quantity() );
			wp_cache_set( 'lookup_table', 'stale', 'object_' . $p['product_id'] );
		}
		self::client()->start_sync( 'cli' );
		self::wait_for_idle();

		$pending = self::client()->list_changes( 1000, 0, false )['changes'];
		$ids     = array_map( 'intval', wp_list_pluck( $pending, 'product_id' ) );
		foreach ( $products as $p ) {
			$this->assertContains( $p['product_id'], $ids, 'the change waits for finalize' );
		}

		$finalized = array();
		$stock     = array();
		$record    = function ( $id ) use ( &$finalized ) {
			$finalized[] = $id;
		};
		$on_stock  = function ( $id ) use ( &$stock ) {
			$stock[] = $id;
		};
		$on_set    = function ( $product ) use ( &$stock ) {
			$stock[] = 'set:' . $product->get_id();
		};
		add_action( 'cachicamo_sync_product_finalized', $record );
		add_action( 'woocommerce_updated_product_stock', $on_stock );
		add_action( 'woocommerce_variation_set_stock', $on_set );
		try {
			$count = Cachicamo_Sync_Finalizer::finalize_pending( self::client(), 1000 );
		} finally {
			remove_action( 'cachicamo_sync_product_finalized', $record );
			remove_action( 'woocommerce_updated_product_stock', $on_stock );
			remove_action( 'woocommerce_variation_set_stock', $on_set );
		}

		$this->assertSame( count( $pending ), $count );
		foreach ( $products as $p ) {
			$id = $p['product_id'];
			$this->assertContains( $id, $finalized );
			$this->assertContains( $id, $stock, 'WooCommerce\'s stock action fired' );
			$this->assertFalse( wp_cache_get( 'lookup_table', 'object_' . $id ), 'the lookup cache was dropped' );
			$this->assertSame( $p['stock'], wc_get_product( $id )->get_stock_quantity(), 'WooCommerce reads the new stock in the same request' );
			$this->assertSame( $p['price'], wc_get_product( $id )->get_price(), 'and the price' );
		}
		$this->assertContains( 'set:' . $variant['product_id'], $stock, 'a variation gets the variation action' );
		$this->assertSame( $variant['stock'], wc_get_product( $variant['product_id'] )->get_stock_quantity() );
		$this->assertSame( array(), self::client()->list_changes( 10, 0, false )['changes'], 'all were acknowledged' );
		$this->assertSame( 0, Cachicamo_Sync_Finalizer::finalize_pending( self::client() ), 'nothing is finalized twice' );
	}
}
