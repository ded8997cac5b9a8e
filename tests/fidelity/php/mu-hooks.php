<?php
/**
 * Plugin Name: Fidelity hook recorder
 * Description: Test-only must-use plugin of the fidelity suite: records the WordPress and
 * WooCommerce actions fired for products while FIDELITY_HOOK_LOG (environment) names a file,
 * one JSON line per action (hook, product id, detail). Mail is recorded, never sent.
 *
 * @package Cachicamo_Sync
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

$fidelity_log = getenv( 'FIDELITY_HOOK_LOG' );
if ( ! $fidelity_log ) {
	return;
}

/** The product id an action's argument stands for. */
function fidelity_hook_id( $arg ) {
	if ( is_object( $arg ) && method_exists( $arg, 'get_id' ) ) {
		return (int) $arg->get_id();
	}
	if ( $arg instanceof WP_Post ) {
		return (int) $arg->ID;
	}
	return is_numeric( $arg ) ? (int) $arg : 0;
}

/** Appends one record. */
function fidelity_hook_record( $hook, $id, $detail = '' ) {
	$id = (int) $id;
	if ( $id <= 0 || ! in_array( get_post_type( $id ), array( 'product', 'product_variation' ), true ) ) {
		return;
	}
	file_put_contents( getenv( 'FIDELITY_HOOK_LOG' ), wp_json_encode( array( 'hook' => $hook, 'id' => $id, 'detail' => (string) $detail ) ) . "\n", FILE_APPEND | LOCK_EX );
}

// Actions whose first argument is the product (an id or an object).
foreach ( array(
	'woocommerce_update_product',
	'woocommerce_update_product_variation',
	'woocommerce_new_product',
	'woocommerce_new_product_variation',
	'woocommerce_product_set_stock',
	'woocommerce_variation_set_stock',
	'woocommerce_product_before_set_stock',
	'woocommerce_variation_before_set_stock',
	'woocommerce_updated_product_stock',
	'woocommerce_updated_product_price',
	'woocommerce_before_product_object_save',
	'woocommerce_after_product_object_save',
	'woocommerce_variable_product_sync_data',
	'woocommerce_low_stock',
	'woocommerce_no_stock',
	'woocommerce_product_on_backorder',
	'woocommerce_process_product_meta',
	'woocommerce_rest_insert_product_object',
	'clean_post_cache',
	'save_post',
	'edit_post',
	'post_updated',
	'cachicamo_sync_product_finalized',
) as $fidelity_hook ) {
	add_action(
		$fidelity_hook,
		function ( $arg = null ) use ( $fidelity_hook ) {
			fidelity_hook_record( $fidelity_hook, fidelity_hook_id( $arg ) );
		},
		1
	);
}

// Stock status: the id, and the new status as detail.
foreach ( array( 'woocommerce_product_set_stock_status', 'woocommerce_variation_set_stock_status' ) as $fidelity_hook ) {
	add_action(
		$fidelity_hook,
		function ( $id, $status = '' ) use ( $fidelity_hook ) {
			fidelity_hook_record( $fidelity_hook, $id, $status );
		},
		1,
		2
	);
}

// The props a CRUD save changed.
add_action(
	'woocommerce_product_object_updated_props',
	function ( $product, $props ) {
		$props = (array) $props;
		sort( $props );
		fidelity_hook_record( 'woocommerce_product_object_updated_props', fidelity_hook_id( $product ), implode( ',', $props ) );
	},
	1,
	2
);

// Post meta writes through WordPress (search indexers and caches listen to these).
foreach ( array( 'added_post_meta', 'updated_post_meta', 'deleted_post_meta' ) as $fidelity_hook ) {
	add_action(
		$fidelity_hook,
		function ( $meta_id, $object_id, $meta_key ) use ( $fidelity_hook ) {
			fidelity_hook_record( $fidelity_hook, $object_id, $meta_key );
		},
		1,
		3
	);
}

// Term changes of a product (visibility, type).
add_action(
	'set_object_terms',
	function ( $object_id, $terms, $tt_ids, $taxonomy ) {
		fidelity_hook_record( 'set_object_terms', $object_id, $taxonomy );
	},
	1,
	4
);

// Stock mails are recorded and not sent.
add_filter(
	'pre_wp_mail',
	function ( $return, $atts ) {
		file_put_contents( getenv( 'FIDELITY_HOOK_LOG' ), wp_json_encode( array( 'hook' => 'wp_mail', 'id' => 0, 'detail' => (string) ( $atts['subject'] ?? '' ) ) ) . "\n", FILE_APPEND | LOCK_EX );
		return true;
	},
	1,
	2
);
