<?php
/**
 * What WordPress remembers about the sidecar's alerts: the active ones, as last seen by a tick
 * or the panel, and an outage of the sidecar itself. Admin pages read only this, never the
 * socket, so a slow or dead sidecar cannot slow them down.
 *
 * @package Cachicamo_Sync
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * The alert cache, the outage record and how alerts are named.
 */
class Cachicamo_Sync_Alerts {

	// Autoloaded: every admin page reads it for the notice, and a query per page would add up.
	const CACHE_OPTION = 'cachicamo_sync_alerts';
	const DOWN_OPTION  = 'cachicamo_sync_sidecar_down';

	// Older than this, the cache says more about WP-Cron having stopped than about the sidecar.
	const FRESH_SECONDS = 600;

	// The panel polls every second during a run; unchanged alerts are rewritten at most this often.
	const REFRESH_SECONDS = 60;

	// A restart or a deploy takes seconds; five minutes without an answer is an outage.
	const DOWN_AFTER_SECONDS = 300;

	/**
	 * A few words for an alert's kind, for e-mail subjects and the panel.
	 *
	 * @param string $kind The sidecar's kind.
	 * @return string
	 */
	public static function kind_text( $kind ) {
		$texts = array(
			'stalled_run'         => __( 'Sync run stalled', 'cachicamo-sync' ),
			'batch_failures'      => __( 'Batches keep failing', 'cachicamo-sync' ),
			'lease_overdue'       => __( 'Batch lease overdue', 'cachicamo-sync' ),
			'api_unreachable'     => __( 'Cachicamo API unreachable', 'cachicamo-sync' ),
			'sync_overdue'        => __( 'Sync overdue', 'cachicamo-sync' ),
			'sidecar_unreachable' => __( 'Sidecar unreachable', 'cachicamo-sync' ),
		);
		/* translators: %s: an alert kind the plugin does not know yet, e.g. disk_full. */
		return $texts[ $kind ] ?? sprintf( __( 'Alert: %s', 'cachicamo-sync' ), str_replace( '_', ' ', (string) $kind ) );
	}

	/**
	 * An alert as the panel, the AJAX poll and WP-CLI show it.
	 *
	 * @param array $alert An Alert message.
	 * @return array
	 */
	public static function view( array $alert ) {
		$raised_at  = (int) $alert['raised_at'];
		$cleared_at = (int) $alert['cleared_at'];
		return array(
			'id'         => (int) $alert['id'],
			'kind'       => (string) $alert['kind'],
			'title'      => self::kind_text( $alert['kind'] ),
			'message'    => (string) $alert['message'],
			'raised_at'  => $raised_at,
			'cleared_at' => $cleared_at,
			'raised'     => Cachicamo_Sync_Status::when( $raised_at ),
			'cleared'    => $cleared_at > 0 ? Cachicamo_Sync_Status::when( $cleared_at ) : '',
		);
	}

	/**
	 * Keeps the active alerts of a GetStatus answer for the admin notice.
	 *
	 * @param array $status A GetStatusResponse.
	 */
	public static function remember( array $status ) {
		$active = array_map( array( __CLASS__, 'view' ), $status['active_alerts'] );
		$cached = get_option( self::CACHE_OPTION );
		$same   = is_array( $cached ) && ( $cached['active'] ?? null ) === $active;
		if ( $same && time() - (int) ( $cached['checked_at'] ?? 0 ) < self::REFRESH_SECONDS ) {
			return;
		}
		update_option(
			self::CACHE_OPTION,
			array(
				'checked_at' => time(),
				'active'     => $active,
			),
			true
		);
	}

	/**
	 * The active alerts last seen, or none when that was too long ago to trust.
	 *
	 * @return array Alert views.
	 */
	public static function active() {
		$cached = get_option( self::CACHE_OPTION );
		if ( ! is_array( $cached ) || time() - (int) ( $cached['checked_at'] ?? 0 ) > self::FRESH_SECONDS ) {
			return array();
		}
		return is_array( $cached['active'] ?? null ) ? $cached['active'] : array();
	}

	/**
	 * Records that a tick could not reach the sidecar; the outage starts at the first failure.
	 *
	 * @param string $message Why, in the client's sentence.
	 * @return array The outage: since, message, notified.
	 */
	public static function record_unreachable( $message ) {
		$down = get_option( self::DOWN_OPTION );
		if ( ! is_array( $down ) || empty( $down['since'] ) ) {
			$down = array(
				'since'    => time(),
				'notified' => false,
			);
		}
		$down['message'] = (string) $message;
		update_option( self::DOWN_OPTION, $down, true );
		return $down;
	}

	/**
	 * Marks the outage as reported, so it is e-mailed once.
	 */
	public static function mark_outage_notified() {
		$down = get_option( self::DOWN_OPTION );
		if ( is_array( $down ) && ! empty( $down['since'] ) ) {
			$down['notified'] = true;
			update_option( self::DOWN_OPTION, $down, true );
		}
	}

	/**
	 * Ends the outage, if there was one.
	 *
	 * @return array|null The outage that ended.
	 */
	public static function end_outage() {
		$down = get_option( self::DOWN_OPTION );
		// Kept, empty and autoloaded, rather than deleted: a missing option costs the notice a
		// query on every admin page.
		update_option( self::DOWN_OPTION, array(), true );
		return is_array( $down ) && ! empty( $down['since'] ) ? $down : null;
	}

	/**
	 * Whether an outage has lasted long enough to tell people.
	 *
	 * @param array $down An outage record.
	 * @return bool
	 */
	public static function outage_is_long( array $down ) {
		return time() - (int) $down['since'] >= self::DOWN_AFTER_SECONDS;
	}

	/**
	 * The sidecar's outage, once it has lasted long enough to tell people; it ends at the next
	 * tick that gets an answer.
	 *
	 * @return array|null since, message and notified.
	 */
	public static function outage() {
		$down = get_option( self::DOWN_OPTION );
		return is_array( $down ) && ! empty( $down['since'] ) && self::outage_is_long( $down ) ? $down : null;
	}
}
