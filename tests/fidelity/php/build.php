<?php
/**
 * `wp eval-file build.php WORK HIDE`: builds the matrix (matrix.php) into this store with
 * WooCommerce's own CRUD, as a shop owner would have entered it, and writes WORK/cases.json,
 * WORK/dataset.json (what the Cachicamo simulator serves) and WORK/crud.json (what the CRUD copy
 * applies). HIDE is woocommerce_hide_out_of_stock_items (yes|no). Variable parents are synced by
 * WooCommerce at shutdown; settle.php finishes the store in a second process.
 *
 * @package Cachicamo_Sync
 */

require_once __DIR__ . '/lib.php';

$work = $args[0];
$hide = $args[1];

// The shop's settings: a timezone that is not UTC (local and GMT dates differ), USD, the
// attribute lookup table used for filtering, and Cachicamo's credentials.
update_option( 'timezone_string', 'America/Caracas' );
update_option( 'gmt_offset', '' );
update_option( 'woocommerce_currency', 'USD' );
update_option( 'woocommerce_manage_stock', 'yes' );
update_option( 'woocommerce_notify_no_stock_amount', '0' );
update_option( 'woocommerce_notify_low_stock_amount', '2' );
update_option( 'woocommerce_hide_out_of_stock_items', $hide );
update_option( 'woocommerce_attribute_lookup_enabled', 'yes' );
// Only while building, so the lookup rows exist before the copies are made; settle.php puts
// WooCommerce's default (updates through Action Scheduler) back.
update_option( 'woocommerce_attribute_lookup_direct_updates', 'yes' );
$token = 'fidelity-token-0123456789';
$store = '6f1d2c3b-0000-4000-8000-00000000f1de';
update_option(
	'woocommerce_cachicamoapp-for-woo-manager_settings',
	array(
		'access_token'  => $token,
		'store_uuid'    => $store,
		'employee_uuid' => '',
		'price_type'    => 'retail',
		'cron_time'     => '720',
		'debug'         => 'no',
	)
);

// The global attribute Color and its terms.
$attribute_id = wc_attribute_taxonomy_id_by_name( 'pa_color' );
if ( ! $attribute_id ) {
	$attribute_id = wc_create_attribute( array( 'name' => 'Color', 'slug' => 'color', 'type' => 'select', 'has_archives' => false ) );
	if ( is_wp_error( $attribute_id ) ) {
		fwrite( STDERR, 'cannot create pa_color: ' . $attribute_id->get_error_message() . "\n" );
		exit( 1 );
	}
}
register_taxonomy( 'pa_color', array( 'product' ), array( 'hierarchical' => false ) );
$terms = array();
foreach ( array( 'red', 'blue', 'green', 'black' ) as $slug ) {
	$t = term_exists( $slug, 'pa_color' );
	if ( ! $t ) {
		$t = wp_insert_term( ucfirst( $slug ), 'pa_color', array( 'slug' => $slug ) );
	}
	$terms[ $slug ] = (int) $t['term_id'];
}
$category = wp_insert_term( 'Fidelity', 'product_cat', array( 'slug' => 'fidelity' ) );
$cat_id   = (int) $category['term_id'];

/** Applies a matrix product's initial state to a product object. */
$apply_initial = function ( WC_Product $p, array $i ) {
	$p->set_regular_price( $i['regular'] );
	if ( isset( $i['sale'] ) ) {
		$p->set_sale_price( $i['sale'] );
		if ( isset( $i['sale_from'] ) ) {
			$p->set_date_on_sale_from( time() + (int) $i['sale_from'] * DAY_IN_SECONDS );
		}
		if ( isset( $i['sale_to'] ) ) {
			$p->set_date_on_sale_to( time() + (int) $i['sale_to'] * DAY_IN_SECONDS );
		}
	}
	$p->set_virtual( ! empty( $i['virtual'] ) );
	$p->set_manage_stock( ! empty( $i['manage'] ) );
	if ( ! empty( $i['manage'] ) ) {
		$p->set_stock_quantity( $i['stock'] );
		$p->set_backorders( $i['backorders'] ?? 'no' );
		if ( isset( $i['low_stock'] ) ) {
			$p->set_low_stock_amount( $i['low_stock'] );
		}
	} else {
		$p->set_stock_status( $i['status'] );
	}
};

$cases   = array();
$dataset = array();
$crud    = array();
$ids     = array();
foreach ( fid_flat_matrix() as $m ) {
	if ( 'simple' === $m['kind'] ) {
		$p = new WC_Product_Simple();
		$p->set_name( 'Fidelity ' . $m['case'] );
		$p->set_sku( $m['sku'] );
		$p->set_status( 'publish' );
		$p->set_category_ids( array( $cat_id ) );
		$apply_initial( $p, $m['initial'] );
		if ( ! empty( $m['initial']['colors'] ) ) {
			$a = new WC_Product_Attribute();
			$a->set_id( $attribute_id );
			$a->set_name( 'pa_color' );
			$a->set_options( array_map( fn( $s ) => $terms[ $s ], $m['initial']['colors'] ) );
			$a->set_visible( true );
			$a->set_variation( false );
			$p->set_attributes( array( $a ) );
		}
		$p->save();
		$ids[ $m['case'] ] = $p->get_id();
		$cases[]           = array( 'case' => $m['case'], 'id' => $p->get_id(), 'sku' => $m['sku'], 'kind' => 'simple', 'parent' => 0 );
	} elseif ( 'variable' === $m['kind'] ) {
		$p = new WC_Product_Variable();
		$p->set_name( 'Fidelity ' . $m['case'] );
		$p->set_sku( $m['sku'] );
		$p->set_status( 'publish' );
		$p->set_category_ids( array( $cat_id ) );
		$color = new WC_Product_Attribute();
		$color->set_id( $attribute_id );
		$color->set_name( 'pa_color' );
		$color->set_options( array_map( fn( $s ) => $terms[ $s ], $m['colors'] ) );
		$color->set_visible( true );
		$color->set_variation( true );
		$size = new WC_Product_Attribute();
		$size->set_id( 0 );
		$size->set_name( 'Size' );
		$size->set_options( array( 'S', 'M' ) );
		$size->set_visible( true );
		$size->set_variation( true );
		$p->set_attributes( array( $color, $size ) );
		$p->save();
		$ids[ $m['case'] ] = $p->get_id();
		$cases[]           = array( 'case' => $m['case'], 'id' => $p->get_id(), 'sku' => $m['sku'], 'kind' => 'variable', 'parent' => 0 );
	} else {
		$v = new WC_Product_Variation();
		$v->set_parent_id( $ids[ $m['parent'] ] );
		$v->set_sku( $m['sku'] );
		$v->set_attributes( $m['attrs'] );
		$v->set_status( $m['initial']['status_post'] ?? 'publish' );
		$apply_initial( $v, $m['initial'] );
		$v->save();
		$cases[] = array( 'case' => $m['case'], 'id' => $v->get_id(), 'sku' => $m['sku'], 'kind' => 'variation', 'parent' => $ids[ $m['parent'] ] );
	}
	$c = $m['cachicamo'];
	if ( null === $c ) {
		continue;
	}
	$uuid = substr( md5( $m['sku'] ), 0, 8 ) . '-0000-4000-8000-' . substr( md5( $m['sku'] ), 8, 12 );
	$item = array(
		'product_uuid'       => $uuid,
		'sku_list'           => array( $m['sku'] ),
		'stock_available'    => 0,
		'stock_billable'     => $c['billable'],
		'stock_locked'       => 0,
		'stock_transit'      => 0,
		'warehouse_location' => null,
		'tax_uuid'           => 'g16' === $c['tax'] ? 'fid-tax-g16' : 'fid-tax-zero',
		'is_virtual'         => ! empty( $m['initial']['virtual'] ),
	);
	if ( null !== $c['retail'] ) {
		$tier          = fn( $amount ) => array(
			'amount_float'  => $amount,
			'amount_format' => '$ ' . number_format( $amount, 2, ',', '.' ),
			'currency_iso'  => 'USD',
		);
		$item['price'] = array(
			'uuid'                   => 'price-' . $uuid,
			'currency_uuid'          => 'fid-usd',
			'price_type'             => 'UNIT',
			'active'                 => true,
			'amount_base'            => (int) round( $c['retail'] * 0.5 * 10000 ),
			'amount_base_format'     => $tier( round( $c['retail'] * 0.5, 2 ) ),
			'amount_min_sale'        => (int) round( $c['retail'] * 0.8 * 10000 ),
			'amount_min_sale_format' => $tier( round( $c['retail'] * 0.8, 2 ) ),
			'amount_retail'          => (int) round( $c['retail'] * 10000 ),
			'amount_retail_format'   => $tier( $c['retail'] ),
		);
	}
	$dataset[]           = $item;
	// What the sidecar means to write, handed to WooCommerce's CRUD on the other copy: the stock
	// as the old plugin set it (managed, max(0, billable); WooCommerce makes it whole), never on
	// virtual products, and the regular price the item's price computes to.
	$crud[ $m['case'] ] = array(
		'stock'   => empty( $m['initial']['virtual'] ) ? max( 0, $c['billable'] ) : null,
		'regular' => $m['regular'],
	);
}

fid_write_json( $work . '/cases.json', $cases );
fid_write_json( $work . '/crud.json', $crud );
fid_write_json(
	$work . '/dataset.json',
	array(
		'access_token'         => $token,
		'store_uuid'           => $store,
		'users_configuration'  => array( 'base_currency_uuid' => 'fid-usd' ),
		'stores_configuration' => array( 'default_tax_uuid' => 'fid-tax-zero' ),
		'currencies'           => array(
			'USD' => array( 'uuid' => 'fid-usd', 'iso' => 'USD', 'name' => 'US Dollar' ),
			'VES' => array( 'uuid' => 'fid-ves', 'iso' => 'VES', 'name' => 'Bolívar' ),
		),
		'currency_rates'       => array( 'system_rates' => array( 'VES' => array( 'rate' => 36.5 ) ), 'user_rates' => new stdClass() ),
		'taxes'                => array(
			array( 'uuid' => 'fid-tax-g16', 'tax_rate' => 16, 'tax_family' => 'IVA', 'tax_code' => 'G', 'name' => 'IVA General' ),
			array( 'uuid' => 'fid-tax-zero', 'tax_rate' => 0, 'tax_family' => 'IVA', 'tax_code' => 'E', 'name' => 'Exento' ),
		),
		'taxes_store'          => array( array( 'tax_uuid' => 'fid-tax-zero', 'store_uuid' => $store, 'is_default' => true ) ),
		'items'                => $dataset,
		'expected'             => array(),
	)
);
