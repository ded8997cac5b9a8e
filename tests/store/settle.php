<?php
/**
 * Run by `wp eval-file` once WooCommerce is active in the template store: the choices a shop
 * owner makes in the first minutes, and the work WooCommerce would finish on its first requests.
 *
 * @package Cachicamo_Sync
 */

update_option( 'woocommerce_onboarding_profile', array( 'skipped' => true ) );
update_option( 'woocommerce_task_list_hidden', 'yes' );
update_option( 'woocommerce_show_marketplace_suggestions', 'no' );
update_option( 'woocommerce_allow_tracking', 'no' );
update_option( 'woocommerce_store_address', 'Av. Francisco de Miranda' );
update_option( 'woocommerce_store_city', 'Caracas' );
update_option( 'woocommerce_default_country', 'VE:VE-A' );
// WooCommerce finishes a new install on the first admin request after activation (HPOS on,
// the "coming soon" page); a template must hold that already, or every clone would redo it.
WC_Install::install();
WC_Install::newly_installed();
// The owner has launched the shop: the storefront is public.
update_option( 'woocommerce_coming_soon', 'no' );
if ( 'yes' !== get_option( 'woocommerce_custom_orders_table_enabled' ) ) {
	fwrite( STDERR, "HPOS is not on in the new store\n" );
	exit( 1 );
}
