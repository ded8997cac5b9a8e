<?php
/**
 * After the sidecar writes products with SQL, WordPress and WooCommerce must hear of it: caches
 * are cleared and WooCommerce's stock and price actions fire, so other plugins see every change.
 * Only then is the change acknowledged to the sidecar.
 *
 * @package Cachicamo_Sync
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Finalizes changed products.
 */
class Cachicamo_Sync_Finalizer {

	/**
	 * Fetches the changes waiting for finalize, finalizes and acknowledges them.
	 *
	 * @param Cachicamo_Sync_Client $client A client.
	 * @param int                   $limit  Most changes handled in one go.
	 * @return int How many changes were finalized.
	 */
	public static function finalize_pending( Cachicamo_Sync_Client $client, $limit = 200 ) {
		$changes = $client->list_changes( $limit, 0, false )['changes'];
		return self::finalize_and_ack( $client, $changes );
	}

	/**
	 * Finalizes these changes and acknowledges them.
	 *
	 * @param Cachicamo_Sync_Client $client  A client.
	 * @param array                 $changes Change messages.
	 * @return int How many were finalized.
	 */
	public static function finalize_and_ack( Cachicamo_Sync_Client $client, array $changes ) {
		if ( ! $changes ) {
			return 0;
		}
		self::finalize( $changes );
		$client->ack_changes( array_map( 'intval', wp_list_pluck( $changes, 'id' ) ) );
		return count( $changes );
	}

	/**
	 * Clears caches and fires hooks for the changed products (and their parents).
	 *
	 * @param array $changes Change messages (product_id, parent_id, old/new stock, status, price).
	 */
	public static function finalize( array $changes ) {
		$ids     = array();
		$parents = array();
		foreach ( $changes as $change ) {
			$ids[] = (int) $change['product_id'];
			if ( ! empty( $change['parent_id'] ) ) {
				$parents[] = (int) $change['parent_id'];
			}
		}
		$ids     = array_values( array_unique( array_merge( $ids, $parents ) ) );
		$parents = array_values( array_unique( $parents ) );

		// Invalidate first: hooks that run next must read the new values.
		foreach ( $ids as $id ) {
			self::clear_caches( $id );
		}
		self::recount_visibility_terms();
		if ( class_exists( 'WC_Product_Variable' ) ) {
			foreach ( $parents as $parent_id ) {
				WC_Product_Variable::sync( $parent_id );
			}
		}
		foreach ( $changes as $change ) {
			self::fire_hooks( $change );
		}
	}

	/**
	 * Drops every cached copy of a product WordPress and WooCommerce keep.
	 *
	 * @param int $id Product id.
	 */
	private static function clear_caches( $id ) {
		clean_post_cache( $id );
		wp_cache_delete( 'lookup_table', 'object_' . $id );
		wp_cache_delete( 'product-' . $id, 'products' );
		if ( class_exists( 'WC_Cache_Helper', false ) ) {
			WC_Cache_Helper::invalidate_cache_group( 'product_' . $id );
			WC_Cache_Helper::invalidate_cache_group( 'object_' . $id );
		}
		if ( function_exists( 'wc_delete_product_transients' ) ) {
			wc_delete_product_transients( $id );
		}
	}

	/**
	 * The sidecar edits visibility term relationships in SQL; counts and term caches are
	 * WordPress's to refresh.
	 */
	private static function recount_visibility_terms() {
		if ( ! taxonomy_exists( 'product_visibility' ) ) {
			return;
		}
		$term = get_term_by( 'slug', 'outofstock', 'product_visibility' );
		if ( $term ) {
			wp_update_term_count_now( array( (int) $term->term_taxonomy_id ), 'product_visibility' );
			clean_term_cache( array( (int) $term->term_id ), 'product_visibility' );
		}
	}

	/**
	 * WooCommerce's actions for what changed, so other plugins (and product webhooks) see it.
	 *
	 * @param array $change A change message.
	 */
	private static function fire_hooks( array $change ) {
		$id      = (int) $change['product_id'];
		$product = function_exists( 'wc_get_product' ) ? wc_get_product( $id ) : null;
		$kind    = ( $product && $product->is_type( 'variation' ) ) ? 'variation' : 'product';
		if ( '' !== (string) $change['new_stock'] ) {
			if ( $product ) {
				do_action( "woocommerce_{$kind}_set_stock", $product );
			}
			do_action( 'woocommerce_updated_product_stock', $id );
		}
		if ( '' !== (string) $change['new_stock_status'] ) {
			do_action( "woocommerce_{$kind}_set_stock_status", $id, $change['new_stock_status'], $product );
		}
		if ( '' !== (string) $change['new_price'] ) {
			do_action( 'woocommerce_updated_product_price', $id );
		}
		if ( $product && apply_filters( 'cachicamo_sync_fire_update_product', false, $product ) ) {
			do_action( 'variation' === $kind ? 'woocommerce_update_product_variation' : 'woocommerce_update_product', $id, $product );
		}
		/**
		 * Fires after a product changed by Cachicamo Sync has been finalized.
		 *
		 * @param int   $id     Product id.
		 * @param array $change Old and new stock, stock status and price.
		 */
		do_action( 'cachicamo_sync_product_finalized', $id, $change );
	}
}
