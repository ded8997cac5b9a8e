<?php
/**
 * `wp eval-file snapshot.php WORK MODE OUT T0`: what WooCommerce holds and says about every
 * product of the matrix, as JSON in OUT. T0 is a Unix time before the sync / the CRUD saves.
 *
 * MODE full:  1. what waits in Action Scheduler (webhook deliveries, attribute lookup updates),
 *                then the queued attribute lookup updates are run, as the queue would within
 *                a minute; 2. the tables, read with SQL (postmeta, lookup tables, terms, posts'
 *                dates, term counts); 3. transients through WordPress's API (the object cache,
 *                when there is one); 4. what WooCommerce's PHP reports (product getters, price
 *                HTML, variation prices, REST, Analytics, catalog and attribute filter queries).
 *                Reads that fill caches come last.
 * MODE probe: only 3 and the product getters of 4: what a visitor would be shown now.
 * MODE prime: fills the caches a live shop has (lib.php fid_prime) and writes nothing else.
 *
 * @package Cachicamo_Sync
 */

require_once __DIR__ . '/lib.php';

global $wpdb;
$work  = $args[0];
$mode  = $args[1];
$out   = $args[2];
$t0    = (int) ( $args[3] ?? 0 );
$cases = fid_cases( $work );
$by_id = array();
foreach ( $cases as $c ) {
	$by_id[ (int) $c['id'] ] = $c;
}
$case_of = fn( $id ) => isset( $by_id[ (int) $id ] ) ? $by_id[ (int) $id ]['case'] : 'other:' . (int) $id;
$list    = implode( ',', array_map( 'intval', array_keys( $by_id ) ) );

if ( 'prime' === $mode ) {
	fid_prime( $cases );
	exit( 0 );
}

$snap = array(
	'products' => array(),
	'store'    => array(),
);
foreach ( $cases as $c ) {
	$snap['products'][ $c['case'] ] = array();
}
$put = function ( $case, $section, $value ) use ( &$snap ) {
	$snap['products'][ $case ][ $section ] = $value;
};

if ( 'full' === $mode ) {
	// 1. The queue. Webhook deliveries are counted per product and left pending.
	$rows   = $wpdb->get_results( "SELECT action_id, hook, args FROM {$wpdb->prefix}actionscheduler_actions WHERE status = 'pending' AND hook IN ('woocommerce_deliver_webhook_async', 'woocommerce_run_product_attribute_lookup_update_callback') ORDER BY action_id" );
	$queued = array();
	$lookup = array();
	foreach ( $rows as $r ) {
		$a = json_decode( $r->args, true );
		if ( 'woocommerce_deliver_webhook_async' === $r->hook ) {
			$queued[ $case_of( $a['arg'] ?? 0 ) ]['webhook_deliveries'] = ( $queued[ $case_of( $a['arg'] ?? 0 ) ]['webhook_deliveries'] ?? 0 ) + 1;
		} else {
			$queued[ $case_of( $a[0] ?? 0 ) ]['attribute_lookup_updates'] = ( $queued[ $case_of( $a[0] ?? 0 ) ]['attribute_lookup_updates'] ?? 0 ) + 1;
			$lookup[] = (int) $r->action_id;
		}
	}
	foreach ( $cases as $c ) {
		$put( $c['case'], 'queued', (object) ( $queued[ $c['case'] ] ?? array() ) );
	}
	$snap['store']['queued_for_other_posts'] = array_diff_key( $queued, $snap['products'] );
	foreach ( $lookup as $action_id ) {
		ActionScheduler::runner()->process_action( $action_id, 'fidelity' );
	}

	// 2. The tables.
	$posts = $wpdb->get_results( "SELECT ID, post_status, post_modified, post_modified_gmt FROM {$wpdb->posts} WHERE ID IN ($list)" );
	foreach ( $posts as $p ) {
		$put(
			$case_of( $p->ID ),
			'post',
			array(
				'post_status'                => $p->post_status,
				'modified_after_t0'          => strtotime( $p->post_modified_gmt . ' UTC' ) > $t0,
				'modified_local_matches_gmt' => get_date_from_gmt( $p->post_modified_gmt ) === $p->post_modified,
			)
		);
	}
	$meta = array();
	foreach ( $wpdb->get_results( "SELECT post_id, meta_key, meta_value FROM {$wpdb->postmeta} WHERE post_id IN ($list) ORDER BY meta_id" ) as $m ) {
		$meta[ $case_of( $m->post_id ) ][ $m->meta_key ][] = $m->meta_value;
	}
	foreach ( $cases as $c ) {
		$m = $meta[ $c['case'] ] ?? array();
		ksort( $m );
		$put( $c['case'], 'postmeta', $m );
	}
	foreach ( $wpdb->get_results( "SELECT * FROM {$wpdb->prefix}wc_product_meta_lookup WHERE product_id IN ($list)", ARRAY_A ) as $row ) {
		$id = $row['product_id'];
		unset( $row['product_id'] );
		$put( $case_of( $id ), 'meta_lookup', $row );
	}
	$attr = array();
	foreach ( $wpdb->get_results( "SELECT l.*, t.slug FROM {$wpdb->prefix}wc_product_attributes_lookup l LEFT JOIN {$wpdb->terms} t ON t.term_id = l.term_id WHERE l.product_id IN ($list) ORDER BY l.taxonomy, t.slug" ) as $l ) {
		$attr[ $case_of( $l->product_id ) ][] = sprintf( '%s:%s parent=%s variation_attribute=%d in_stock=%d', $l->taxonomy, $l->slug, $case_of( $l->product_or_parent_id ), $l->is_variation_attribute, $l->in_stock );
	}
	$terms = array();
	foreach ( $wpdb->get_results( "SELECT tr.object_id, tt.taxonomy, t.slug FROM {$wpdb->term_relationships} tr JOIN {$wpdb->term_taxonomy} tt ON tt.term_taxonomy_id = tr.term_taxonomy_id JOIN {$wpdb->terms} t ON t.term_id = tt.term_id WHERE tr.object_id IN ($list) ORDER BY tt.taxonomy, t.slug" ) as $t ) {
		$terms[ $case_of( $t->object_id ) ][ $t->taxonomy ][] = $t->slug;
	}
	foreach ( $cases as $c ) {
		$put( $c['case'], 'attributes_lookup', $attr[ $c['case'] ] ?? array() );
		$put( $c['case'], 'terms', (object) ( $terms[ $c['case'] ] ?? array() ) );
		if ( ! isset( $snap['products'][ $c['case'] ]['meta_lookup'] ) ) {
			$put( $c['case'], 'meta_lookup', null );
		}
	}
	$counts = array();
	foreach ( $wpdb->get_results( "SELECT tt.taxonomy, t.slug, tt.count FROM {$wpdb->term_taxonomy} tt JOIN {$wpdb->terms} t ON t.term_id = tt.term_id WHERE tt.taxonomy IN ('product_visibility', 'product_cat', 'pa_color', 'product_type') ORDER BY tt.taxonomy, t.slug" ) as $t ) {
		$counts[ $t->taxonomy . ':' . $t->slug ] = (int) $t->count;
	}
	$snap['store']['term_counts'] = $counts;
	$tm = array();
	foreach ( $wpdb->get_results( "SELECT t.slug, tm.meta_key, tm.meta_value FROM {$wpdb->termmeta} tm JOIN {$wpdb->terms} t ON t.term_id = tm.term_id WHERE tm.meta_key LIKE 'product_count_%' ORDER BY t.slug, tm.meta_key" ) as $t ) {
		$tm[ $t->slug . ':' . $t->meta_key ] = $t->meta_value;
	}
	$snap['store']['term_product_counts'] = $tm;
}

// 3. Transients, through WordPress (so a persistent object cache is what is read). The
// versions first: WooCommerce's own getter would create a missing one.
foreach ( array( 'product', 'product_query' ) as $group ) {
	$v = get_transient( $group . '-transient-version' );
	$snap['store']['transient_versions'][ $group ] = false === $v ? 'absent' : ( (int) $v > $t0 ? 'changed since T0' : 'as before T0' );
}
$product_version = get_transient( 'product-transient-version' );
foreach ( $cases as $c ) {
	$id = $c['id'];
	$t  = array();
	$vp = get_transient( 'wc_var_prices_' . $id );
	if ( false === $vp ) {
		$t['wc_var_prices'] = 'absent';
	} else {
		$vp                 = is_array( $vp ) ? $vp : json_decode( $vp, true );
		$t['wc_var_prices'] = ( isset( $vp['version'] ) && (string) $vp['version'] === (string) $product_version ) ? 'current' : 'stale (older transient version)';
	}
	$children                 = get_transient( 'wc_product_children_' . $id );
	$t['wc_product_children'] = false === $children ? 'absent' : $children;
	// Not wc_related_<id>: under WP-CLI WooCommerce rebuilds it while deleting it and deletes
	// those of every related product too, so whether it exists depends on the order of saves,
	// and what it holds is shuffled on every read (it is no value a visitor is shown).
	foreach ( array( 'wc_child_has_weight_', 'wc_child_has_dimensions_' ) as $name ) {
		$t[ rtrim( $name, '_' ) ] = false === get_transient( $name . $id ) ? 'absent' : 'present';
	}
	$put( $c['case'], 'transients', $t );
}
$store_transients = array();
foreach ( array( 'wc_products_onsale', 'wc_featured_products', 'wc_outofstock_count', 'wc_low_stock_count', 'wc_admin_stock_count_lowstock', 'wc_admin_stock_count_instock', 'wc_admin_stock_count_outofstock', 'wc_admin_stock_count_onbackorder' ) as $name ) {
	$v = get_transient( $name );
	if ( 'wc_products_onsale' === $name && is_array( $v ) ) {
		$v = array_map( $case_of, $v );
		sort( $v );
	}
	$store_transients[ $name ] = false === $v ? 'absent' : $v;
}
$snap['store']['transients'] = $store_transients;

// 4. What WooCommerce's PHP reports, products first (fresh objects, as a page load builds them).
foreach ( $cases as $c ) {
	$p = wc_get_product( $c['id'] );
	$r = array(
		'get_stock_quantity' => $p->get_stock_quantity(),
		'get_stock_status'   => $p->get_stock_status(),
		'get_manage_stock'   => $p->get_manage_stock(),
		'get_backorders'     => $p->get_backorders(),
		'is_in_stock'        => $p->is_in_stock(),
		'is_on_backorder'    => $p->is_on_backorder(),
		'is_purchasable'     => $p->is_purchasable(),
		'is_visible'         => $p->is_visible(),
		'get_price'          => $p->get_price(),
		'get_regular_price'  => $p->get_regular_price(),
		'get_sale_price'     => $p->get_sale_price(),
		'is_on_sale'         => $p->is_on_sale(),
		'get_price_html'     => $p->get_price_html(),
	);
	if ( $p->is_type( 'variable' ) ) {
		$vp = $p->get_variation_prices();
		foreach ( $vp as $k => $list_of ) {
			$mapped = array();
			foreach ( $list_of as $vid => $price ) {
				$mapped[ $case_of( $vid ) ] = $price;
			}
			$vp[ $k ] = $mapped;
		}
		$r['get_variation_prices']   = $vp;
		$r['get_visible_children']   = array_map( $case_of, $p->get_visible_children() );
		$r['get_children']           = array_map( $case_of, $p->get_children() );
		$r['child_is_in_stock']      = $p->child_is_in_stock();
		$r['get_available_variations'] = count( $p->get_available_variations( 'objects' ) );
	}
	$put( $c['case'], 'php', $r );
}

if ( 'full' === $mode ) {
	foreach ( $cases as $c ) {
		$route = 'variation' === $c['kind'] ? "/wc/v3/products/{$c['parent']}/variations/{$c['id']}" : "/wc/v3/products/{$c['id']}";
		list( $status, $data ) = fid_rest( 'GET', $route );
		// related_ids is a random pick (wc_get_related_products shuffles); the dates are
		// compared as "was it modified" from the posts table.
		unset( $data['_links'], $data['date_modified'], $data['date_modified_gmt'], $data['related_ids'] );
		$data['http_status'] = $status;
		$put( $c['case'], 'rest', $data );
	}
	$after = gmdate( 'Y-m-d\TH:i:s', $t0 );
	list( , $list_data ) = fid_rest( 'GET', '/wc/v3/products', array( 'modified_after' => $after, 'dates_are_gmt' => true, 'per_page' => 100 ) );
	$modified = array_map( fn( $p ) => $case_of( $p['id'] ), $list_data );
	foreach ( $cases as $c ) {
		if ( 'variable' === $c['kind'] ) {
			list( , $vars ) = fid_rest( 'GET', "/wc/v3/products/{$c['id']}/variations", array( 'modified_after' => $after, 'dates_are_gmt' => true, 'per_page' => 100 ) );
			$modified       = array_merge( $modified, array_map( fn( $p ) => $case_of( $p['id'] ), $vars ) );
		}
	}
	sort( $modified );
	$snap['store']['rest_modified_after_t0'] = $modified;
	list( $status, $stats ) = fid_rest( 'GET', '/wc-analytics/reports/stock/stats' );
	$snap['store']['analytics_stock_stats'] = 200 === $status ? ( $stats['totals'] ?? $stats ) : "HTTP $status";
	list( $status, $low ) = fid_rest( 'GET', '/wc-analytics/products/low-in-stock', array( 'per_page' => 100 ) );
	$low_cases = 200 === $status ? array_map( fn( $p ) => $case_of( $p['id'] ), $low ) : "HTTP $status";
	if ( is_array( $low_cases ) ) {
		sort( $low_cases );
	}
	$snap['store']['analytics_low_in_stock'] = $low_cases;
	$onsale = array_map( $case_of, wc_get_product_ids_on_sale() );
	sort( $onsale );
	$snap['store']['wc_get_product_ids_on_sale'] = $onsale;

	// The shop page's product query (hides out-of-stock products when the shop says so), and the
	// same with the layered-nav "filter by color" clause WooCommerce builds from the lookup table.
	$catalog = function ( $color = null ) use ( $case_of ) {
		global $wpdb;
		$q = new WP_Query();
		$q->set( 'post_type', 'product' );
		$q->set( 'post_status', 'publish' );
		$q->set( 'fields', 'ids' );
		$q->set( 'posts_per_page', -1 );
		$q->set( 'orderby', 'ID' );
		$q->set( 'order', 'ASC' );
		$q->set( 'tax_query', WC()->query->get_tax_query( array(), true ) );
		$q->set( 'meta_query', WC()->query->get_meta_query( array(), true ) );
		$filter = null;
		if ( $color ) {
			$filter = function ( $clauses, $query ) use ( $q, $color ) {
				if ( $query !== $q ) {
					return $clauses;
				}
				add_filter( 'woocommerce_enable_post_clause_filtering', '__return_true' );
				$filterer = wc_get_container()->get( \Automattic\WooCommerce\Internal\ProductAttributesLookup\Filterer::class );
				$clauses  = $filterer->filter_by_attribute_post_clauses( $clauses, $query, array( 'pa_color' => array( 'terms' => array( $color ), 'query_type' => 'or' ) ) );
				remove_filter( 'woocommerce_enable_post_clause_filtering', '__return_true' );
				return $clauses;
			};
			add_filter( 'posts_clauses', $filter, 10, 2 );
		}
		$ids = $q->get_posts();
		if ( $filter ) {
			remove_filter( 'posts_clauses', $filter, 10 );
		}
		$ids = array_map( $case_of, $ids );
		sort( $ids );
		return $ids;
	};
	$snap['store']['shop_catalog'] = $catalog();
	foreach ( array( 'red', 'blue', 'green', 'black' ) as $color ) {
		$snap['store'][ 'shop_filter_color_' . $color ] = $catalog( $color );
	}
	$oos = wc_get_products( array( 'stock_status' => 'outofstock', 'limit' => -1, 'return' => 'ids', 'type' => array( 'simple', 'variable', 'variation' ) ) );
	$oos = array_map( $case_of, $oos );
	sort( $oos );
	$snap['store']['wc_get_products_outofstock'] = $oos;
}

fid_write_json( $out, $snap );
