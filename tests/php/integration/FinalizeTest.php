<?php
/**
 * Finalize: for every product the sidecar changed, WordPress's caches are cleared and the
 * stock and price actions fire, then the change is acknowledged.
 *
 * @package Cachicamo_Sync
 */

/**
 * Finalize tests.
 */
class FinalizeTest extends Cachicamo_Sync_Test_Case {

	public function test_changed_products_are_finalized_once_and_acknowledged() {
		self::wait_for_idle();
		Cachicamo_Sync_Finalizer::finalize_pending( $this->client(), 1000 );
		$products = array_slice( self::expected( 'simple' ), 10, 4 );
		foreach ( $products as $p ) {
			update_post_meta( $p['product_id'], '_stock', '7777' );
			wp_cache_set( 'lookup_table', 'stale', 'object_' . $p['product_id'] );
			get_post_meta( $p['product_id'] );
		}
		$this->client()->start_sync( 'cli' );
		self::wait_for_idle();

		$pending = $this->client()->list_changes( 1000, 0, false )['changes'];
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
		add_action( 'cachicamo_sync_product_finalized', $record );
		add_action( 'woocommerce_updated_product_stock', $on_stock );
		$count = Cachicamo_Sync_Finalizer::finalize_pending( $this->client(), 1000 );
		remove_action( 'cachicamo_sync_product_finalized', $record );
		remove_action( 'woocommerce_updated_product_stock', $on_stock );

		$this->assertSame( count( $pending ), $count );
		foreach ( $products as $p ) {
			$id = $p['product_id'];
			$this->assertContains( $id, $finalized );
			$this->assertContains( $id, $stock, 'WooCommerce\'s stock action fired' );
			$this->assertFalse( wp_cache_get( 'lookup_table', 'object_' . $id ), 'the lookup cache was dropped' );
			$this->assertFalse( wp_cache_get( $id, 'post_meta' ), 'the meta cache was dropped' );
			$this->assertEquals( $p['stock'], get_post_meta( $id, '_stock', true ), 'a fresh read sees the new stock' );
		}
		$this->assertSame( array(), $this->client()->list_changes( 10, 0, false )['changes'], 'all were acknowledged' );
		$this->assertSame( 0, Cachicamo_Sync_Finalizer::finalize_pending( $this->client() ), 'nothing is finalized twice' );
	}
}
