<?php
/**
 * The plugin's settings: one option, under the old plugin's integration id and keys, so an
 * upgrade carries them over. The sidecar reads the same option.
 *
 * @package Cachicamo_Sync
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Reads, validates and saves the settings.
 */
class Cachicamo_Sync_Settings {

	const INTEGRATION_ID  = 'cachicamoapp-for-woo-manager';
	const OPTION          = 'woocommerce_cachicamoapp-for-woo-manager_settings';
	const DEFAULT_SOCKET  = '/run/cachicamo-sync/sidecar.sock';
	const MIN_INTERVAL    = 10;
	const MAX_INTERVAL    = 10080;
	const PRICE_TYPES     = array( 'base', 'min_sale', 'retail' );
	const MAX_SOCKET_PATH = 107;
	const MAX_URL_LENGTH  = 2048;

	/**
	 * Every setting with its default, as strings (the old plugin's format).
	 *
	 * @return array<string,string>
	 */
	public static function defaults() {
		return array(
			'access_token'             => '',
			'store_uuid'               => '',
			'employee_uuid'            => '',
			'price_type'               => 'retail',
			'cron_time'                => '720',
			'debug'                    => 'no',
			'socket_path'              => self::DEFAULT_SOCKET,
			'delete_data_on_uninstall' => 'no',
			'alert_webhook_url'        => '',
		);
	}

	/**
	 * The stored settings over the defaults.
	 *
	 * @return array<string,string>
	 */
	public static function get() {
		$stored = get_option( self::OPTION, array() );
		if ( ! is_array( $stored ) ) {
			$stored = array();
		}
		$settings = array_merge( self::defaults(), array_map( 'strval', array_filter( $stored, 'is_scalar' ) ) );
		return $settings;
	}

	/**
	 * The sidecar's socket; CACHICAMO_SYNC_SOCKET in wp-config.php wins over the setting.
	 *
	 * @return string
	 */
	public static function socket_path() {
		if ( defined( 'CACHICAMO_SYNC_SOCKET' ) && is_string( CACHICAMO_SYNC_SOCKET ) && '' !== CACHICAMO_SYNC_SOCKET ) {
			return CACHICAMO_SYNC_SOCKET;
		}
		$path = self::get()['socket_path'];
		return '' === $path ? self::DEFAULT_SOCKET : $path;
	}

	/**
	 * The sync interval in minutes.
	 *
	 * @return int
	 */
	public static function interval_minutes() {
		return max( self::MIN_INTERVAL, (int) self::get()['cron_time'] );
	}

	/**
	 * Validates submitted values against the current ones. A blank access token keeps the saved
	 * one: the field is never filled in, so that the token is never sent back to a browser.
	 *
	 * @param array $input   Submitted values (unslashed).
	 * @param array $current Current settings.
	 * @return array{0: array<string,string>, 1: string[]} The values to save and the errors.
	 */
	public static function sanitize( array $input, array $current ) {
		$clean  = array_merge( self::defaults(), $current );
		$errors = array();

		$token = isset( $input['access_token'] ) && is_string( $input['access_token'] ) ? trim( $input['access_token'] ) : '';
		if ( '' !== $token ) {
			if ( strlen( $token ) > 2048 || preg_match( '/[\s\x00-\x1f\x7f]/', $token ) ) {
				$errors[] = __( 'The access token must be a single line without spaces; paste it again from Cachicamo App.', 'cachicamo-sync' );
			} else {
				$clean['access_token'] = $token;
			}
		}

		if ( isset( $input['store_uuid'] ) ) {
			$uuid = is_string( $input['store_uuid'] ) ? strtolower( trim( $input['store_uuid'] ) ) : '';
			if ( '' === $uuid || preg_match( '/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/', $uuid ) ) {
				$clean['store_uuid'] = $uuid;
			} else {
				$errors[] = __( 'The store UUID must look like 123e4567-e89b-12d3-a456-426614174000; copy it from Cachicamo App.', 'cachicamo-sync' );
			}
		}

		if ( isset( $input['cron_time'] ) ) {
			$minutes = is_string( $input['cron_time'] ) || is_int( $input['cron_time'] ) ? trim( (string) $input['cron_time'] ) : '';
			if ( preg_match( '/^\d{1,6}$/', $minutes ) && (int) $minutes >= self::MIN_INTERVAL && (int) $minutes <= self::MAX_INTERVAL ) {
				$clean['cron_time'] = (string) (int) $minutes;
			} else {
				/* translators: 1: minimum minutes, 2: maximum minutes. */
				$errors[] = sprintf( __( 'The sync interval must be a whole number of minutes from %1$d to %2$d.', 'cachicamo-sync' ), self::MIN_INTERVAL, self::MAX_INTERVAL );
			}
		}

		if ( isset( $input['price_type'] ) ) {
			if ( in_array( $input['price_type'], self::PRICE_TYPES, true ) ) {
				$clean['price_type'] = $input['price_type'];
			} else {
				$errors[] = __( 'Choose the base, minimum sale or retail price.', 'cachicamo-sync' );
			}
		}

		if ( isset( $input['socket_path'] ) ) {
			$path = is_string( $input['socket_path'] ) ? trim( $input['socket_path'] ) : '';
			if ( '' === $path ) {
				$clean['socket_path'] = self::DEFAULT_SOCKET;
			} elseif ( '/' !== substr( $path, 0, 1 ) || strlen( $path ) > self::MAX_SOCKET_PATH || preg_match( '/[\x00-\x1f]/', $path ) ) {
				/* translators: %d: maximum length in bytes. */
				$errors[] = sprintf( __( 'The sidecar socket must be an absolute path of at most %d bytes, like /run/cachicamo-sync/sidecar.sock.', 'cachicamo-sync' ), self::MAX_SOCKET_PATH );
			} else {
				$clean['socket_path'] = $path;
			}
		}

		if ( isset( $input['alert_webhook_url'] ) ) {
			$url = is_string( $input['alert_webhook_url'] ) ? trim( $input['alert_webhook_url'] ) : '';
			if ( '' === $url || self::is_webhook_url( $url ) ) {
				$clean['alert_webhook_url'] = $url;
			} else {
				$errors[] = __( 'The alert webhook must be an http:// or https:// address, like https://hooks.example.com/cachicamo, or empty.', 'cachicamo-sync' );
			}
		}

		foreach ( array( 'debug', 'delete_data_on_uninstall' ) as $flag ) {
			if ( array_key_exists( $flag, $input ) ) {
				$clean[ $flag ] = in_array( $input[ $flag ], array( 'yes', '1', 1, true ), true ) ? 'yes' : 'no';
			}
		}

		return array( $clean, $errors );
	}

	/**
	 * Whether a URL can take the alert webhook's POST: http or https, a host, nothing odd.
	 *
	 * @param string $url The trimmed URL.
	 * @return bool
	 */
	private static function is_webhook_url( $url ) {
		if ( strlen( $url ) > self::MAX_URL_LENGTH || preg_match( '/[\s\x00-\x1f\x7f]/', $url ) || false === filter_var( $url, FILTER_VALIDATE_URL ) ) {
			return false;
		}
		$parts = wp_parse_url( $url );
		return is_array( $parts ) && in_array( strtolower( $parts['scheme'] ?? '' ), array( 'http', 'https' ), true ) && '' !== ( $parts['host'] ?? '' );
	}

	/**
	 * Validates and saves; on any error nothing is saved.
	 *
	 * @param array $input Submitted values (unslashed).
	 * @return string[] The errors, empty when saved.
	 */
	public static function save( array $input ) {
		list( $clean, $errors ) = self::sanitize( $input, self::get() );
		if ( $errors ) {
			return $errors;
		}
		$before = self::get();
		update_option( self::OPTION, $clean );
		if ( $before['cron_time'] !== $clean['cron_time'] ) {
			Cachicamo_Sync_Cron::reschedule_full_sync();
		}
		return array();
	}
}
