<?php
/**
 * When an order reduces stock, its SKUs are re-read from Cachicamo right away, outside the
 * queue. Checkout never waits for it: the SKUs go to a WP-Cron event that runs in its own
 * request, and a failure is only logged.
 *
 * @package Cachicamo_Sync
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Order-driven selective sync.
 */
class Cachicamo_Sync_Orders {

	/**
	 * Hooks WooCommerce's stock reduction.
	 */
	public static function register() {
		add_action( 'woocommerce_reduce_order_stock', array( __CLASS__, 'on_stock_reduced' ) );
	}

	/**
	 * The keys Cachicamo knows the order's products by: SKU, else the WC-<id> alias.
	 *
	 * @param object $order A WC_Order.
	 * @return string[]
	 */
	public static function skus_from_order( $order ) {
		$skus = array();
		foreach ( $order->get_items() as $item ) {
			$product = is_callable( array( $item, 'get_product' ) ) ? $item->get_product() : null;
			if ( ! $product ) {
				continue;
			}
			$sku    = trim( (string) $product->get_sku() );
			$skus[] = '' !== $sku ? $sku : 'WC-' . $product->get_id();
		}
		return array_values( array_unique( $skus ) );
	}

	/**
	 * Queues the order's SKUs for a selective sync in a cron request of its own.
	 *
	 * @param object $order A WC_Order.
	 */
	public static function on_stock_reduced( $order ) {
		try {
			$skus = self::skus_from_order( $order );
			if ( $skus ) {
				// The order id keeps two orders of the same SKUs from being merged by WP-Cron.
				wp_schedule_single_event( time(), Cachicamo_Sync_Cron::SELECTIVE_HOOK, array( $skus, (int) $order->get_id() ) );
			}
		} catch ( Throwable $e ) {
			Cachicamo_Sync_Sidecar::log( 'could not queue the selective sync of an order: ' . $e->getMessage() );
		}
	}

	/**
	 * The cron handler: syncs the SKUs now and finalizes what changed.
	 *
	 * @param string[] $skus     SKUs.
	 * @param int      $order_id The order they came from (for the log).
	 * @return array|null The sidecar's answer, or null on failure.
	 */
	public static function run_selective( $skus, $order_id = 0 ) {
		if ( ! is_array( $skus ) || ! $skus ) {
			return null;
		}
		try {
			$client   = Cachicamo_Sync_Sidecar::client( 5.0 );
			$response = $client->sync_skus( array_map( 'strval', array_slice( $skus, 0, 100 ) ) );
			Cachicamo_Sync_Finalizer::finalize_pending( $client );
			return $response;
		} catch ( RuntimeException | InvalidArgumentException $e ) {
			// An order is never broken by its re-sync: whatever went wrong is only logged.
			Cachicamo_Sync_Sidecar::log( sprintf( 'selective sync of order %d: %s', (int) $order_id, $e->getMessage() ) );
			return null;
		}
	}
}
