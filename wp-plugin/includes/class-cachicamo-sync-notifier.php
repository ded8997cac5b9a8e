<?php
/**
 * Tells people about alerts, on WP-Cron's tick: an e-mail to the site admin once per alert, and
 * a JSON POST to the optional webhook once when an alert is raised and once when it clears. The
 * sidecar itself being out of reach for five minutes is reported the same way.
 *
 * @package Cachicamo_Sync
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Alert e-mails and webhook calls.
 */
class Cachicamo_Sync_Notifier {

	// Alert ids only grow, so the highest one reported tells which alerts are new.
	const LAST_ID_OPTION = 'cachicamo_sync_last_alert_id';

	// Alerts whose raise was posted and whose clear is still to post, by id.
	const OPEN_OPTION = 'cachicamo_sync_open_alerts';

	// A webhook must not hold up the tick; a slow receiver misses an alert, it does not stop sync.
	const WEBHOOK_TIMEOUT = 5;

	/**
	 * Reports the alerts of a GetStatus answer taken right after a tick.
	 *
	 * @param array $status A GetStatusResponse.
	 */
	public static function alerts( array $status ) {
		Cachicamo_Sync_Alerts::remember( $status );
		$active = array();
		foreach ( $status['active_alerts'] as $alert ) {
			$active[ (int) $alert['id'] ] = $alert;
		}
		$known = $active;
		foreach ( $status['recent_alerts'] as $alert ) {
			$known[ (int) $alert['id'] ] = $alert;
		}
		ksort( $known );

		$stored  = get_option( self::LAST_ID_OPTION );
		$last_id = false === $stored ? null : (int) $stored;
		$highest = $known ? max( array_keys( $known ) ) : 0;
		// The sidecar's alert table was dropped and made again: its ids start over.
		if ( null !== $last_id && $highest < $last_id ) {
			$last_id = 0;
		}
		$open = get_option( self::OPEN_OPTION, array() );
		$open = is_array( $open ) ? $open : array();

		foreach ( $known as $id => $alert ) {
			if ( null === $last_id ? ! isset( $active[ $id ] ) : $id <= $last_id ) {
				// Before the first report there is only history, and history is not news.
				continue;
			}
			self::mail_alert( $alert );
			self::post( $alert['kind'], $alert['message'], (int) $alert['raised_at'], 0, 'raised', $id );
			$open[ $id ] = $alert;
		}
		foreach ( $open as $id => $alert ) {
			if ( isset( $active[ $id ] ) ) {
				continue;
			}
			// No longer active, so it cleared: when, the sidecar says, unless the alert has already
			// left its recent list.
			$cleared_at = (int) ( $known[ $id ]['cleared_at'] ?? 0 );
			self::post( $alert['kind'], $alert['message'], (int) $alert['raised_at'], $cleared_at > 0 ? $cleared_at : time(), 'cleared', (int) $id );
			unset( $open[ $id ] );
		}
		update_option( self::LAST_ID_OPTION, max( (int) $last_id, $highest ), false );
		update_option( self::OPEN_OPTION, $open, false );
	}

	/**
	 * A tick could not reach the sidecar: after five minutes of that, one e-mail and one webhook
	 * call per outage.
	 *
	 * @param string $message Why, in the client's sentence.
	 */
	public static function sidecar_unreachable( $message ) {
		$down = Cachicamo_Sync_Alerts::record_unreachable( $message );
		if ( $down['notified'] || ! Cachicamo_Sync_Alerts::outage_is_long( $down ) ) {
			return;
		}
		// Marked first: a failing mail server must not turn into an e-mail every minute.
		Cachicamo_Sync_Alerts::mark_outage_notified();
		$text = self::outage_text( $down );
		self::mail( Cachicamo_Sync_Alerts::kind_text( 'sidecar_unreachable' ), $text );
		self::post( 'sidecar_unreachable', $text, (int) $down['since'], 0, 'raised', 0 );
	}

	/**
	 * A tick got an answer: an outage that was reported is reported over.
	 */
	public static function sidecar_answered() {
		$down = Cachicamo_Sync_Alerts::end_outage();
		if ( $down && $down['notified'] ) {
			self::post( 'sidecar_unreachable', self::outage_text( $down ), (int) $down['since'], time(), 'cleared', 0 );
		}
	}

	/**
	 * An outage in one sentence.
	 *
	 * @param array $down An outage record: since, message.
	 * @return string
	 */
	private static function outage_text( array $down ) {
		return sprintf(
			/* translators: 1: date and time, 2: the reason. */
			__( 'Cachicamo Sync has not been able to work since %1$s: %2$s', 'cachicamo-sync' ),
			self::moment( (int) $down['since'] ),
			(string) $down['message']
		);
	}

	/**
	 * The e-mail for one alert.
	 *
	 * @param array $alert An Alert message.
	 */
	private static function mail_alert( array $alert ) {
		$text = $alert['message'] . "\n\n"
			/* translators: %s: date and time. */
			. sprintf( __( 'Raised: %s', 'cachicamo-sync' ), self::moment( (int) $alert['raised_at'] ) );
		if ( (int) $alert['cleared_at'] > 0 ) {
			/* translators: %s: date and time. */
			$text .= "\n" . sprintf( __( 'Cleared: %s', 'cachicamo-sync' ), self::moment( (int) $alert['cleared_at'] ) );
		}
		self::mail( Cachicamo_Sync_Alerts::kind_text( $alert['kind'] ), $text );
	}

	/**
	 * Sends a plain-text e-mail to the site admin; a failure is logged.
	 *
	 * @param string $what The subject's few words.
	 * @param string $text What happened.
	 */
	private static function mail( $what, $text ) {
		$site = wp_specialchars_decode( (string) get_option( 'blogname' ), ENT_QUOTES );
		/* translators: 1: the site's name, 2: what happened, e.g. Sync overdue. */
		$subject = sprintf( __( '[%1$s] Cachicamo Sync: %2$s', 'cachicamo-sync' ), $site, $what );
		$body    = $text . "\n\n"
			/* translators: %s: the panel's address. */
			. sprintf( __( 'Details: Tools → Cachicamo Sync, %s', 'cachicamo-sync' ), Cachicamo_Sync_Admin_Page::url() ) . "\n";
		if ( ! wp_mail( (string) get_option( 'admin_email' ), $subject, $body ) ) {
			Cachicamo_Sync_Sidecar::log( 'could not send the alert e-mail "' . $subject . '"' );
		}
	}

	/**
	 * POSTs an alert to the webhook, when one is set; a failure is only logged.
	 *
	 * @param string $kind       The alert's kind.
	 * @param string $message    Its sentence.
	 * @param int    $raised_at  Unix seconds.
	 * @param int    $cleared_at Unix seconds, 0 while it lasts.
	 * @param string $state      raised or cleared.
	 * @param int    $id         The sidecar's alert id, 0 for the plugin's own.
	 */
	private static function post( $kind, $message, $raised_at, $cleared_at, $state, $id ) {
		$url = Cachicamo_Sync_Settings::get()['alert_webhook_url'];
		if ( '' === $url ) {
			return;
		}
		$response = wp_remote_post(
			$url,
			array(
				'timeout' => self::WEBHOOK_TIMEOUT,
				'headers' => array( 'Content-Type' => 'application/json' ),
				'body'    => wp_json_encode(
					array(
						'site'       => home_url(),
						'id'         => $id,
						'kind'       => $kind,
						'message'    => $message,
						'raised_at'  => gmdate( 'c', $raised_at ),
						'cleared_at' => $cleared_at > 0 ? gmdate( 'c', $cleared_at ) : null,
						'state'      => $state,
					)
				),
			)
		);
		$code = is_wp_error( $response ) ? 0 : (int) wp_remote_retrieve_response_code( $response );
		if ( $code < 200 || $code > 299 ) {
			// The host only: webhook addresses often carry a secret in their path.
			$reason = is_wp_error( $response ) ? $response->get_error_message() : 'HTTP ' . $code;
			Cachicamo_Sync_Sidecar::log( sprintf( 'the alert webhook on %s failed (%s): %s %s', (string) wp_parse_url( $url, PHP_URL_HOST ), $reason, $kind, $state ) );
		}
	}

	/**
	 * A date and time in the site's timezone, for e-mails.
	 *
	 * @param int $timestamp Unix seconds.
	 * @return string
	 */
	private static function moment( $timestamp ) {
		return wp_date( get_option( 'date_format' ) . ' ' . get_option( 'time_format' ) . ' T', $timestamp );
	}
}
