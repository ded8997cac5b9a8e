<?php
/**
 * `wp eval-file apply-crud.php WORK`: the reference. The same new stock and regular prices the
 * sidecar writes, applied through WooCommerce's own CRUD: wc_get_product() → set_manage_stock(true)
 * and set_stock_quantity() (the old plugin's way: synced stock is managed stock) /
 * set_regular_price() → save(). A product is saved when WooCommerce itself sees a change
 * (get_changes()), as an importer or an admin pressing "Update" with new values would; variable
 * parents are synced by WooCommerce at shutdown, as after any variation save.
 *
 * @package Cachicamo_Sync
 */

require_once __DIR__ . '/lib.php';

$work  = $args[0];
$crud  = fid_read_json( $work . '/crud.json' );
$saved = array();
foreach ( fid_cases( $work ) as $c ) {
	if ( ! isset( $crud[ $c['case'] ] ) ) {
		continue;
	}
	$want = $crud[ $c['case'] ];
	$p    = wc_get_product( $c['id'] );
	if ( null !== $want['stock'] ) {
		$p->set_manage_stock( true );
		$p->set_stock_quantity( $want['stock'] );
	}
	if ( null !== $want['regular'] ) {
		$p->set_regular_price( $want['regular'] );
	}
	if ( $p->get_changes() ) {
		$p->save();
		$saved[] = $c['case'];
	}
}
echo wp_json_encode( array( 'saved' => $saved ) ), "\n";
