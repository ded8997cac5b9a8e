<?php
/**
 * The alert notice on every wp-admin screen, for the people who can act on it. It reads the
 * alerts WordPress last saw (Cachicamo_Sync_Alerts), never the socket, so it costs nothing and
 * works while the sidecar is down.
 *
 * @package Cachicamo_Sync
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Admin notice for active alerts and a sidecar outage.
 */
class Cachicamo_Sync_Admin_Notice {

	/**
	 * Hooks the notice.
	 */
	public static function register() {
		add_action( 'admin_notices', array( __CLASS__, 'render' ) );
	}

	/**
	 * One sentence per alert, and the way to the panel.
	 */
	public static function render() {
		if ( ! current_user_can( Cachicamo_Sync_Plugin::capability() ) ) {
			return;
		}
		// The panel shows the same alerts, live.
		$screen = function_exists( 'get_current_screen' ) ? get_current_screen() : null;
		if ( $screen && 'tools_page_' . Cachicamo_Sync_Admin_Page::SLUG === $screen->id ) {
			return;
		}
		$sentences = array();
		$outage    = Cachicamo_Sync_Alerts::outage();
		if ( $outage ) {
			$sentences[] = sprintf(
				/* translators: 1: since when, 2: the reason. */
				__( 'The Cachicamo Sync sidecar has not answered since %1$s: %2$s', 'cachicamo-sync' ),
				Cachicamo_Sync_Status::when( (int) $outage['since'] ),
				$outage['message']
			);
		}
		foreach ( Cachicamo_Sync_Alerts::active() as $alert ) {
			$sentences[] = $alert['message'];
		}
		if ( ! $sentences ) {
			return;
		}
		echo '<div class="notice notice-warning cachicamo-sync-notice">';
		foreach ( $sentences as $sentence ) {
			echo '<p><strong>' . esc_html__( 'Cachicamo Sync:', 'cachicamo-sync' ) . '</strong> ' . esc_html( $sentence ) . '</p>';
		}
		printf(
			'<p><a href="%s">%s</a></p></div>',
			esc_url( Cachicamo_Sync_Admin_Page::url() ),
			esc_html__( 'Open Tools → Cachicamo Sync', 'cachicamo-sync' )
		);
	}
}
