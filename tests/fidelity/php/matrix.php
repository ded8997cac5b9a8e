<?php
/**
 * The fidelity matrix: every product the suite builds, what it holds before the sync, and what
 * Cachicamo says about it. One definition feeds the store (build.php), the simulator's dataset
 * and the values WooCommerce's own CRUD applies on the other copy (apply-crud.php).
 *
 * Per product:
 *   case       the name used in reports (variations: "<parent case>/<variation>")
 *   initial    the store before the sync: manage (bool), stock, status (unmanaged only),
 *              backorders, low_stock, virtual, regular, sale, sale_from/sale_to (days from now),
 *              colors (pa_color term slugs), status_post ('private' = disabled variation)
 *   cachicamo  null = no item; else billable (stock_billable, any number), retail (the retail
 *              tier's amount_float in USD, null = the item has no price), tax ('zero' = a 0 %
 *              tax, 'g16' = IVA G 16 %)
 *   regular    the regular price the sidecar computes from that item (checked after the sync);
 *              null when the item has no price
 *
 * Prices: base currency = store currency = USD, so regular = round(round(retail, 2) * (1 + t), 4).
 *
 * @package Cachicamo_Sync
 */

return array(
	'simple'   => array(
		array(
			'case'      => 'simple-managed',
			'initial'   => array( 'manage' => true, 'stock' => 5, 'regular' => '10' ),
			'cachicamo' => array( 'billable' => 12, 'retail' => 11.5, 'tax' => 'zero' ),
			'regular'   => '11.5',
		),
		array(
			'case'      => 'simple-tax16-price-only',
			'initial'   => array( 'manage' => true, 'stock' => 3, 'regular' => '10' ),
			'cachicamo' => array( 'billable' => 3, 'retail' => 12.27, 'tax' => 'g16' ),
			'regular'   => '14.2332',
		),
		array(
			'case'      => 'simple-unmanaged',
			'initial'   => array( 'manage' => false, 'status' => 'instock', 'regular' => '8' ),
			'cachicamo' => array( 'billable' => 7, 'retail' => 8, 'tax' => 'zero' ),
			'regular'   => '8',
		),
		array(
			'case'      => 'simple-unmanaged-outofstock',
			'initial'   => array( 'manage' => false, 'status' => 'outofstock', 'regular' => '8' ),
			'cachicamo' => array( 'billable' => 4, 'retail' => 8, 'tax' => 'zero' ),
			'regular'   => '8',
		),
		array(
			'case'      => 'simple-sellout',
			'initial'   => array( 'manage' => true, 'stock' => 6, 'regular' => '9', 'colors' => array( 'black' ) ),
			'cachicamo' => array( 'billable' => 0, 'retail' => 9, 'tax' => 'zero' ),
			'regular'   => '9',
		),
		array(
			'case'      => 'simple-backorders-notify',
			'initial'   => array( 'manage' => true, 'stock' => 2, 'backorders' => 'notify', 'regular' => '9' ),
			'cachicamo' => array( 'billable' => 0, 'retail' => 9, 'tax' => 'zero' ),
			'regular'   => '9',
		),
		array(
			'case'      => 'simple-backorders-allowed-negative',
			'initial'   => array( 'manage' => true, 'stock' => 1, 'backorders' => 'yes', 'regular' => '9' ),
			'cachicamo' => array( 'billable' => -3, 'retail' => 9, 'tax' => 'zero' ),
			'regular'   => '9',
		),
		array(
			'case'      => 'simple-low-stock',
			'initial'   => array( 'manage' => true, 'stock' => 10, 'low_stock' => 5, 'regular' => '7' ),
			'cachicamo' => array( 'billable' => 3, 'retail' => 7, 'tax' => 'zero' ),
			'regular'   => '7',
		),
		array(
			'case'      => 'simple-restock',
			'initial'   => array( 'manage' => true, 'stock' => 0, 'regular' => '7', 'colors' => array( 'green' ) ),
			'cachicamo' => array( 'billable' => 8, 'retail' => 7, 'tax' => 'zero' ),
			'regular'   => '7',
		),
		array(
			'case'      => 'simple-virtual',
			'initial'   => array( 'manage' => false, 'status' => 'instock', 'virtual' => true, 'regular' => '20' ),
			'cachicamo' => array( 'billable' => 9, 'retail' => 25, 'tax' => 'zero' ),
			'regular'   => '25',
		),
		array(
			'case'      => 'simple-sale-no-dates',
			'initial'   => array( 'manage' => true, 'stock' => 5, 'regular' => '20', 'sale' => '15' ),
			'cachicamo' => array( 'billable' => 5, 'retail' => 22, 'tax' => 'zero' ),
			'regular'   => '22',
		),
		array(
			'case'      => 'simple-sale-ended',
			'initial'   => array( 'manage' => true, 'stock' => 5, 'regular' => '20', 'sale' => '15', 'sale_from' => -10, 'sale_to' => -1 ),
			'cachicamo' => array( 'billable' => 5, 'retail' => 24, 'tax' => 'zero' ),
			'regular'   => '24',
		),
		array(
			'case'      => 'simple-sale-scheduled',
			'initial'   => array( 'manage' => true, 'stock' => 5, 'regular' => '20', 'sale' => '15', 'sale_from' => 5, 'sale_to' => 10 ),
			'cachicamo' => array( 'billable' => 5, 'retail' => 30, 'tax' => 'zero' ),
			'regular'   => '30',
		),
		array(
			'case'      => 'simple-sale-running',
			'initial'   => array( 'manage' => true, 'stock' => 5, 'regular' => '20', 'sale' => '12', 'sale_from' => -1, 'sale_to' => 5 ),
			'cachicamo' => array( 'billable' => 5, 'retail' => 18, 'tax' => 'zero' ),
			'regular'   => '18',
		),
		array(
			'case'      => 'simple-regular-equals-sale',
			'initial'   => array( 'manage' => true, 'stock' => 5, 'regular' => '20', 'sale' => '15' ),
			'cachicamo' => array( 'billable' => 5, 'retail' => 15, 'tax' => 'zero' ),
			'regular'   => '15',
		),
		array(
			'case'      => 'simple-regular-below-sale',
			'initial'   => array( 'manage' => true, 'stock' => 5, 'regular' => '20', 'sale' => '15' ),
			'cachicamo' => array( 'billable' => 5, 'retail' => 12, 'tax' => 'zero' ),
			'regular'   => '12',
		),
		array(
			'case'      => 'simple-unchanged',
			'initial'   => array( 'manage' => true, 'stock' => 4, 'regular' => '9.99' ),
			'cachicamo' => array( 'billable' => 4, 'retail' => 9.99, 'tax' => 'zero' ),
			'regular'   => '9.99',
		),
		array(
			'case'      => 'simple-stock-only-item',
			'initial'   => array( 'manage' => true, 'stock' => 3, 'regular' => '6' ),
			'cachicamo' => array( 'billable' => 6, 'retail' => null, 'tax' => 'zero' ),
			'regular'   => null,
		),
		array(
			'case'      => 'simple-price-trailing-zero',
			'initial'   => array( 'manage' => true, 'stock' => 5, 'regular' => '10.50' ),
			'cachicamo' => array( 'billable' => 5, 'retail' => 10.5, 'tax' => 'zero' ),
			'regular'   => '10.5',
		),
		array(
			'case'      => 'simple-fractional-stock',
			'initial'   => array( 'manage' => true, 'stock' => 2, 'regular' => '5' ),
			'cachicamo' => array( 'billable' => 4.7, 'retail' => 5, 'tax' => 'zero' ),
			'regular'   => '5',
		),
		array(
			'case'      => 'simple-fraction-below-one',
			'initial'   => array( 'manage' => true, 'stock' => 2, 'regular' => '5' ),
			'cachicamo' => array( 'billable' => 0.5, 'retail' => 5, 'tax' => 'zero' ),
			'regular'   => '5',
		),
		array(
			'case'      => 'simple-not-in-cachicamo',
			'initial'   => array( 'manage' => true, 'stock' => 5, 'regular' => '5' ),
			'cachicamo' => null,
			'regular'   => null,
		),
	),
	// Variable products: global attribute pa_color and the local attribute "Size", both used for
	// variations. Parents hold no stock and no price of their own (they do not manage stock).
	'variable' => array(
		array(
			'case'       => 'variable-mixed',
			'colors'     => array( 'red', 'blue', 'green', 'black' ),
			'variations' => array(
				array(
					'case'      => 'red',
					'attrs'     => array( 'pa_color' => 'red', 'size' => 'S' ),
					'initial'   => array( 'manage' => true, 'stock' => 5, 'regular' => '10' ),
					'cachicamo' => array( 'billable' => 9, 'retail' => 12, 'tax' => 'zero' ),
					'regular'   => '12',
				),
				array(
					'case'      => 'blue',
					'attrs'     => array( 'pa_color' => 'blue', 'size' => 'M' ),
					'initial'   => array( 'manage' => true, 'stock' => 4, 'regular' => '14.00' ),
					'cachicamo' => array( 'billable' => 0, 'retail' => 14, 'tax' => 'zero' ),
					'regular'   => '14',
				),
				array(
					'case'      => 'black-not-in-cachicamo',
					'attrs'     => array( 'pa_color' => 'black', 'size' => 'M' ),
					'initial'   => array( 'manage' => true, 'stock' => 2, 'regular' => '13.50' ),
					'cachicamo' => null,
					'regular'   => null,
				),
				array(
					'case'      => 'green-unmanaged',
					'attrs'     => array( 'pa_color' => 'green', 'size' => 'S' ),
					'initial'   => array( 'manage' => false, 'status' => 'instock', 'regular' => '16' ),
					'cachicamo' => array( 'billable' => 3, 'retail' => 16, 'tax' => 'zero' ),
					'regular'   => '16',
				),
			),
		),
		array(
			'case'       => 'variable-all-sell-out',
			'colors'     => array( 'red', 'blue' ),
			'variations' => array(
				array(
					'case'      => 'red',
					'attrs'     => array( 'pa_color' => 'red', 'size' => 'S' ),
					'initial'   => array( 'manage' => true, 'stock' => 3, 'regular' => '20' ),
					'cachicamo' => array( 'billable' => 0, 'retail' => 20, 'tax' => 'zero' ),
					'regular'   => '20',
				),
				array(
					'case'      => 'blue',
					'attrs'     => array( 'pa_color' => 'blue', 'size' => 'M' ),
					'initial'   => array( 'manage' => true, 'stock' => 2, 'regular' => '22' ),
					'cachicamo' => array( 'billable' => 0, 'retail' => 22, 'tax' => 'zero' ),
					'regular'   => '22',
				),
			),
		),
		array(
			'case'       => 'variable-all-come-back',
			'colors'     => array( 'red', 'blue' ),
			'variations' => array(
				array(
					'case'      => 'red',
					'attrs'     => array( 'pa_color' => 'red', 'size' => 'S' ),
					'initial'   => array( 'manage' => true, 'stock' => 0, 'regular' => '18' ),
					'cachicamo' => array( 'billable' => 5, 'retail' => 18, 'tax' => 'zero' ),
					'regular'   => '18',
				),
				array(
					'case'      => 'blue',
					'attrs'     => array( 'pa_color' => 'blue', 'size' => 'M' ),
					'initial'   => array( 'manage' => true, 'stock' => 0, 'regular' => '19' ),
					'cachicamo' => array( 'billable' => 6, 'retail' => 21, 'tax' => 'zero' ),
					'regular'   => '21',
				),
			),
		),
		array(
			'case'       => 'variable-sale',
			'colors'     => array( 'red', 'blue' ),
			'variations' => array(
				array(
					'case'      => 'red-on-sale',
					'attrs'     => array( 'pa_color' => 'red', 'size' => 'S' ),
					'initial'   => array( 'manage' => true, 'stock' => 5, 'regular' => '30', 'sale' => '25' ),
					'cachicamo' => array( 'billable' => 5, 'retail' => 32, 'tax' => 'zero' ),
					'regular'   => '32',
				),
				array(
					'case'      => 'blue',
					'attrs'     => array( 'pa_color' => 'blue', 'size' => 'M' ),
					'initial'   => array( 'manage' => true, 'stock' => 5, 'regular' => '28' ),
					'cachicamo' => array( 'billable' => 5, 'retail' => 35, 'tax' => 'zero' ),
					'regular'   => '35',
				),
			),
		),
		array(
			'case'       => 'variable-disabled-variation',
			'colors'     => array( 'red', 'blue' ),
			'variations' => array(
				array(
					'case'      => 'red',
					'attrs'     => array( 'pa_color' => 'red', 'size' => 'S' ),
					'initial'   => array( 'manage' => true, 'stock' => 5, 'regular' => '40' ),
					'cachicamo' => array( 'billable' => 6, 'retail' => 41, 'tax' => 'zero' ),
					'regular'   => '41',
				),
				array(
					'case'      => 'blue-disabled',
					'attrs'     => array( 'pa_color' => 'blue', 'size' => 'M' ),
					'initial'   => array( 'manage' => true, 'stock' => 2, 'regular' => '10', 'status_post' => 'private' ),
					'cachicamo' => array( 'billable' => 0, 'retail' => 9, 'tax' => 'zero' ),
					'regular'   => '9',
				),
			),
		),
		array(
			'case'       => 'variable-backorders',
			'colors'     => array( 'red', 'blue' ),
			'variations' => array(
				array(
					'case'      => 'red-notify',
					'attrs'     => array( 'pa_color' => 'red', 'size' => 'S' ),
					'initial'   => array( 'manage' => true, 'stock' => 1, 'backorders' => 'notify', 'regular' => '11' ),
					'cachicamo' => array( 'billable' => 0, 'retail' => 11, 'tax' => 'zero' ),
					'regular'   => '11',
				),
				array(
					'case'      => 'blue',
					'attrs'     => array( 'pa_color' => 'blue', 'size' => 'M' ),
					'initial'   => array( 'manage' => true, 'stock' => 2, 'regular' => '12' ),
					'cachicamo' => array( 'billable' => 0, 'retail' => 12, 'tax' => 'zero' ),
					'regular'   => '12',
				),
			),
		),
	),
);
