<?php
/**
 * Shared by the fidelity suite's `wp eval-file` scripts. Loaded with require_once from each.
 *
 * @package Cachicamo_Sync
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit( 1 );
}

/** The SKU of a case: "FID-" and the case name, upper case. */
function fid_sku( $case ) {
	return 'FID-' . strtoupper( str_replace( '/', '-', $case ) );
}

/** Reads a JSON file or dies saying which. */
function fid_read_json( $path ) {
	$data = json_decode( (string) file_get_contents( $path ), true );
	if ( ! is_array( $data ) ) {
		fwrite( STDERR, "fidelity: cannot read $path\n" );
		exit( 1 );
	}
	return $data;
}

/** Writes JSON, keys in a stable order. */
function fid_write_json( $path, $data ) {
	file_put_contents( $path, wp_json_encode( $data, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE ) . "\n" );
}

/** Every product of the matrix flattened: case, sku, item, regular, kind, parent case. */
function fid_flat_matrix() {
	$matrix = require __DIR__ . '/matrix.php';
	$out    = array();
	foreach ( $matrix['simple'] as $p ) {
		$p['kind']   = 'simple';
		$p['sku']    = fid_sku( $p['case'] );
		$out[]       = $p;
	}
	foreach ( $matrix['variable'] as $v ) {
		$out[] = array(
			'case'      => $v['case'],
			'kind'      => 'variable',
			'sku'       => fid_sku( $v['case'] ),
			'colors'    => $v['colors'],
			'cachicamo' => null,
			'regular'   => null,
		);
		foreach ( $v['variations'] as $c ) {
			$c['case']   = $v['case'] . '/' . $c['case'];
			$c['kind']   = 'variation';
			$c['parent'] = $v['case'];
			$c['sku']    = fid_sku( $c['case'] );
			$out[]       = $c;
		}
	}
	return $out;
}

/** The cases file written by build.php: case → id, sku, kind, parent id. */
function fid_cases( $work ) {
	return fid_read_json( $work . '/cases.json' );
}

/** Runs one REST request as the administrator; returns [status, data]. */
function fid_rest( $method, $route, $params = array() ) {
	wp_set_current_user( 1 );
	$request = new WP_REST_Request( $method, $route );
	foreach ( $params as $k => $v ) {
		$request->set_param( $k, $v );
	}
	$response = rest_do_request( $request );
	$server   = rest_get_server();
	$data     = $server->response_to_data( $response, false );
	return array( $response->get_status(), $data );
}

/**
 * Fills the caches a live shop has: product objects and meta in the object cache, the price
 * range and children transients of variable products, related products, on-sale ids, Analytics'
 * stock counts. What a sync leaves stale is only visible when it was there before.
 */
function fid_prime( array $cases ) {
	foreach ( $cases as $c ) {
		$p = wc_get_product( $c['id'] );
		if ( ! $p ) {
			continue;
		}
		$p->get_price_html();
		$p->get_stock_quantity();
		if ( $p->is_type( 'variable' ) ) {
			$p->get_variation_prices();
			$p->get_variation_prices( true );
			$p->get_visible_children();
		}
		wc_get_related_products( $c['id'], 5 );
	}
	wc_get_product_ids_on_sale();
	wc_get_featured_product_ids();
	fid_rest( 'GET', '/wc-analytics/reports/stock/stats' );
}
