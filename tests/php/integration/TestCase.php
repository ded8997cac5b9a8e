<?php
/**
 * Shared by the plugin's integration tests: the dataset, the simulator's controls, AJAX calls,
 * WP-CLI commands, admin notices and waiting for runs.
 *
 * @package Cachicamo_Sync
 */

use PHPUnit\Framework\TestCase;

/**
 * Raised instead of dying at the end of an AJAX response.
 */
class Cachicamo_Sync_Test_Ajax_Die extends Exception {}

/**
 * Base class.
 */
abstract class Cachicamo_Sync_Test_Case extends TestCase {

	/**
	 * The seeded dataset (expected values per product).
	 *
	 * @return array
	 */
	protected static function dataset() {
		static $dataset = null;
		if ( null === $dataset ) {
			$dataset = json_decode( (string) file_get_contents( getenv( 'CACHICAMO_DATASET' ) ), true );
		}
		return $dataset;
	}

	/**
	 * Expected products of one kind that have a real SKU.
	 *
	 * @param string $kind simple, variation, virtual or variable.
	 * @return array
	 */
	protected static function expected( $kind ) {
		return array_values(
			array_filter(
				self::dataset()['expected'],
				fn( $e ) => $e['kind'] === $kind && '' !== $e['sku'] && $e['found']
			)
		);
	}

	/**
	 * POSTs to the simulator's control API.
	 *
	 * @param string $path Path under /__sim/.
	 * @param array  $body JSON body.
	 */
	protected static function sim( $path, array $body ) {
		$response = wp_remote_post(
			getenv( 'CACHICAMO_SIM_URL' ) . '/__sim/' . $path,
			array(
				'headers' => array( 'Content-Type' => 'application/json' ),
				'body'    => wp_json_encode( $body ),
			)
		);
		self::assertSame( 200, wp_remote_retrieve_response_code( $response ), 'simulator control ' . $path );
	}

	/**
	 * A client on the test sidecar.
	 *
	 * @return Cachicamo_Sync_Client
	 */
	protected static function client() {
		return Cachicamo_Sync_Sidecar::client( 10.0 );
	}

	/**
	 * Waits until no run is active; returns the last run.
	 *
	 * @param int $seconds Longest wait.
	 * @return array
	 */
	protected static function wait_for_idle( $seconds = 60 ) {
		$deadline = microtime( true ) + $seconds;
		do {
			$status = self::client()->get_status();
			if ( null === $status['current_run'] ) {
				return $status['last_run'];
			}
			usleep( 200000 );
		} while ( microtime( true ) < $deadline );
		self::fail( 'the run did not finish in time' );
	}

	/**
	 * Logs in as this user.
	 *
	 * @param string $login User login.
	 */
	protected static function login_as( $login ) {
		$user = get_user_by( 'login', $login );
		self::assertNotFalse( $user, "user $login exists" );
		wp_set_current_user( $user->ID );
	}

	/**
	 * The `wp cachicamo` command object WP-CLI would call, with the recorded output emptied.
	 *
	 * @return Cachicamo_Sync_CLI
	 */
	protected function cli() {
		$this->assertArrayHasKey( 'cachicamo', WP_CLI::$commands, 'the command is registered under WP-CLI' );
		WP_CLI::reset();
		return new WP_CLI::$commands['cachicamo']();
	}

	/**
	 * The JSON a command printed.
	 *
	 * @return array
	 */
	protected function json() {
		foreach ( WP_CLI::$lines as list( $kind, $text ) ) {
			if ( 'line' === $kind && str_starts_with( $text, '[' ) ) {
				return json_decode( $text, true );
			}
		}
		$this->fail( 'no JSON printed: ' . WP_CLI::text() );
	}

	/**
	 * What the admin notices print for the current user.
	 *
	 * @return string
	 */
	protected static function admin_notices() {
		ob_start();
		do_action( 'admin_notices' );
		return (string) ob_get_clean();
	}

	/**
	 * Calls an AJAX action as admin-ajax.php would, and returns the decoded JSON answer.
	 *
	 * @param string      $action Action.
	 * @param string|null $nonce  Nonce; null for a valid one.
	 * @return array
	 */
	protected function ajax( $action, $nonce = null ) {
		$_POST    = array(
			'action' => $action,
			'nonce'  => null === $nonce ? wp_create_nonce( Cachicamo_Sync_Ajax::NONCE_ACTION ) : $nonce,
		);
		$_REQUEST = $_POST;
		$die      = fn() => function () {
			throw new Cachicamo_Sync_Test_Ajax_Die();
		};
		add_filter( 'wp_doing_ajax', '__return_true' );
		add_filter( 'wp_die_ajax_handler', $die );
		ob_start();
		try {
			do_action( 'wp_ajax_' . $action );
		} catch ( Cachicamo_Sync_Test_Ajax_Die $e ) {
			unset( $e );
		} finally {
			$output = (string) ob_get_clean();
			remove_filter( 'wp_doing_ajax', '__return_true' );
			remove_filter( 'wp_die_ajax_handler', $die );
		}
		$json = json_decode( $output, true );
		$this->assertIsArray( $json, "the AJAX answer is JSON: $output" );
		return $json;
	}
}
