<?php
/**
 * Shared by the plugin's integration tests: the dataset, the simulator's controls, AJAX calls,
 * the real WP-CLI as a subprocess, scratch copies of the store, admin pages over HTTP, admin
 * notices and waiting for runs.
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

	const PLUGIN = 'cachicamo-sync/cachicamo-sync.php';

	/**
	 * Scratch stores made by the current test: db, dir, url, server (a process or null).
	 *
	 * @var array[]
	 */
	private $scratch = array();

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
	 * @return array|null
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
	 * A known start whatever ran before: no run active, the store in step with Cachicamo after a
	 * completed run, and no change waiting for WordPress.
	 *
	 * @return array The run.
	 */
	protected static function settle() {
		self::wait_for_idle();
		self::client()->start_sync( 'cli' );
		$run = self::wait_for_idle();
		while ( Cachicamo_Sync_Finalizer::finalize_pending( self::client(), 1000 ) > 0 ) {
			continue;
		}
		return $run;
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
	 * A path for this run's throwaway files (sockets, logs), never shared with another run.
	 *
	 * @param string $name File name.
	 * @return string
	 */
	protected static function tmp( $name ) {
		return rtrim( (string) getenv( 'CACHICAMO_TEST_TMP' ), '/' ) . '/' . $name;
	}

	/**
	 * Runs the real WP-CLI (the released phar) on the test site, or on a scratch site.
	 *
	 * @param string[] $args    Command and arguments, e.g. array( 'cachicamo', 'status' ).
	 * @param array    $options path (site folder), require (files for --require), env (extra
	 *                          variables).
	 * @return array out, err, code.
	 */
	protected static function wp( array $args, array $options = array() ) {
		$command = array( PHP_BINARY, '-d', 'memory_limit=512M', (string) getenv( 'CACHICAMO_WP_CLI' ), '--path=' . ( $options['path'] ?? getenv( 'CACHICAMO_WP_ROOT' ) ) );
		if ( function_exists( 'posix_geteuid' ) && 0 === posix_geteuid() ) {
			$command[] = '--allow-root';
		}
		foreach ( $options['require'] ?? array() as $file ) {
			$command[] = '--require=' . $file;
		}
		$env     = array_merge( getenv(), $options['env'] ?? array() );
		$process = proc_open( array_merge( $command, $args ), array( array( 'file', '/dev/null', 'r' ), array( 'pipe', 'w' ), array( 'pipe', 'w' ) ), $pipes, null, $env );
		self::assertIsResource( $process, 'WP-CLI started' );
		// Both pipes at once, so that a command filling one never blocks on the other.
		$out = '';
		$err = '';
		stream_set_blocking( $pipes[1], false );
		stream_set_blocking( $pipes[2], false );
		while ( ! feof( $pipes[1] ) || ! feof( $pipes[2] ) ) {
			$read   = array_filter( array( $pipes[1], $pipes[2] ), fn( $p ) => ! feof( $p ) );
			$write  = null;
			$except = null;
			if ( false === stream_select( $read, $write, $except, 120 ) ) {
				break;
			}
			foreach ( $read as $pipe ) {
				if ( $pipe === $pipes[1] ) {
					$out .= (string) fread( $pipe, 65536 );
				} else {
					$err .= (string) fread( $pipe, 65536 );
				}
			}
		}
		fclose( $pipes[1] );
		fclose( $pipes[2] );
		$code = proc_close( $process );
		// The command wrote to the database behind this process's back: nothing cached here may
		// stand for what is stored now.
		wp_cache_flush();
		return array(
			'out'  => $out,
			'err'  => $err,
			'code' => $code,
		);
	}

	/**
	 * Runs WP-CLI and asserts that it succeeded; returns stdout. PHP's own warnings go to the
	 * site's debug.log (WP_DEBUG_DISPLAY is off), which tests/php/run checks at the end.
	 *
	 * @param string[] $args    See wp().
	 * @param array    $options See wp().
	 * @return string
	 */
	protected static function wp_ok( array $args, array $options = array() ) {
		$result = self::wp( $args, $options );
		self::assertSame( 0, $result['code'], 'wp ' . implode( ' ', $args ) . " failed:\n" . $result['out'] . "\n" . $result['err'] );
		return $result['out'];
	}

	/**
	 * The one JSON document a command printed with --format=json, which must be all of stdout.
	 *
	 * @param string $out Stdout.
	 * @return array
	 */
	protected static function json_of( $out ) {
		$decoded = json_decode( trim( $out ), true );
		self::assertIsArray( $decoded, "stdout is one JSON document: $out" );
		return $decoded;
	}

	/**
	 * A copy of the test store (this run's database, seeded, with the sidecar's tables) in a
	 * database and folder of its own, with the plugin active and the same sidecar socket. Dropped
	 * after the test.
	 *
	 * @param string $name Short name, unique within the test.
	 * @return array db, dir, url.
	 */
	protected function scratch_store( $name ) {
		$db   = getenv( 'CACHICAMO_TEST_DB' ) . '_' . $name;
		$dir  = self::tmp( 'scratch-' . $name );
		$port = self::free_port();
		$url  = 'http://127.0.0.1:' . $port;
		$this->scratch[ $name ] = array(
			'db'     => $db,
			'dir'    => $dir,
			'url'    => $url,
			'port'   => $port,
			'server' => null,
		);
		$command = array( 'bash', __DIR__ . '/../support/scratch-store', getenv( 'CACHICAMO_TEST_DB' ), $db, $dir, $url, (string) getenv( 'CACHICAMO_SOCKET' ) );
		$process = proc_open( $command, array( array( 'file', '/dev/null', 'r' ), array( 'file', '/dev/null', 'a' ), array( 'pipe', 'w' ) ), $pipes );
		$err     = stream_get_contents( $pipes[2] );
		fclose( $pipes[2] );
		$this->assertSame( 0, proc_close( $process ), "the scratch store $name was made: $err" );
		return $this->scratch[ $name ];
	}

	/**
	 * Serves a scratch store with `php -S`, as the test site is served.
	 *
	 * @param array $store From scratch_store().
	 */
	protected function serve( array $store ) {
		$log     = $store['dir'] . '/php-server.log';
		$process = proc_open( array( PHP_BINARY, '-S', '127.0.0.1:' . $store['port'], '-t', $store['dir'], $store['dir'] . '/router.php' ), array( array( 'file', '/dev/null', 'r' ), array( 'file', $log, 'a' ), array( 'file', $log, 'a' ) ), $pipes );
		$this->assertIsResource( $process );
		foreach ( $this->scratch as $name => $known ) {
			if ( $known['db'] === $store['db'] ) {
				$this->scratch[ $name ]['server'] = $process;
			}
		}
		for ( $i = 0; $i < 100; $i++ ) {
			$socket = @fsockopen( '127.0.0.1', $store['port'], $errno, $errstr, 0.1 ); // phpcs:ignore WordPress.PHP.NoSilencedErrors -- refused until it listens.
			if ( $socket ) {
				fclose( $socket );
				return;
			}
			usleep( 100000 );
		}
		$this->fail( 'php -S did not start: ' . file_get_contents( $log ) );
	}

	/**
	 * Drops the current test's scratch stores, after checking that the plugin raised no PHP
	 * warning in them.
	 *
	 * @after
	 */
	public function cachicamo_sync_drop_scratch_stores() {
		global $wpdb;
		$scratch       = $this->scratch;
		$this->scratch = array();
		$warnings      = array();
		foreach ( $scratch as $store ) {
			if ( $store['server'] ) {
				proc_terminate( $store['server'] );
				proc_close( $store['server'] );
			}
			$log = $store['dir'] . '/wp-content/debug.log';
			if ( is_file( $log ) ) {
				preg_match_all( '/^.*PHP (Warning|Notice|Deprecated|Fatal error|Parse error).*cachicamo.*$/mi', (string) file_get_contents( $log ), $lines );
				$warnings = array_merge( $warnings, $lines[0] );
			}
			$wpdb->query( 'DROP DATABASE IF EXISTS `' . esc_sql( $store['db'] ) . '`' ); // phpcs:ignore WordPress.DB -- a name this class made.
			if ( ! $warnings ) {
				// Kept after a warning, for tests/php/run's own check and a person to read.
				self::remove_tree( $store['dir'] );
			}
		}
		$this->assertSame( array(), $warnings, 'the plugin raised PHP warnings in a scratch store' );
	}

	/**
	 * Deletes a folder this class made.
	 *
	 * @param string $dir Folder.
	 */
	private static function remove_tree( $dir ) {
		if ( is_dir( $dir ) && str_starts_with( $dir, self::tmp( 'scratch-' ) ) ) {
			exec( 'rm -rf ' . escapeshellarg( $dir ) );
		}
	}

	/**
	 * A TCP port nothing listens on now.
	 *
	 * @return int
	 */
	protected static function free_port() {
		$server = stream_socket_server( 'tcp://127.0.0.1:0' );
		$name   = stream_socket_get_name( $server, false );
		fclose( $server );
		return (int) substr( $name, strrpos( $name, ':' ) + 1 );
	}

	/**
	 * GETs a wp-admin page of a site as a logged-in user, with the cookies wp-login.php would set.
	 *
	 * @param string     $url   Full address.
	 * @param array|null $store A scratch store, or null for the test site.
	 * @param string     $login User login.
	 * @return string The HTML.
	 */
	protected static function admin_get( $url, $store = null, $login = 'admin' ) {
		if ( null === $store ) {
			$user    = get_user_by( 'login', $login );
			$hash    = COOKIEHASH;
			$auth    = wp_generate_auth_cookie( $user->ID, time() + HOUR_IN_SECONDS, 'auth' );
			$in      = wp_generate_auth_cookie( $user->ID, time() + HOUR_IN_SECONDS, 'logged_in' );
			$cookies = array(
				'wordpress_' . $hash           => $auth,
				'wordpress_logged_in_' . $hash => $in,
			);
		} else {
			// The scratch site keeps its own sessions, so it makes the cookies itself.
			$code    = sprintf( '$u = get_user_by( "login", %s ); echo wp_json_encode( array( AUTH_COOKIE => wp_generate_auth_cookie( $u->ID, time() + HOUR_IN_SECONDS, "auth" ), LOGGED_IN_COOKIE => wp_generate_auth_cookie( $u->ID, time() + HOUR_IN_SECONDS, "logged_in" ) ) );', var_export( $login, true ) ); // phpcs:ignore WordPress.PHP.DevelopmentFunctions
			$cookies = self::json_of( self::wp_ok( array( 'eval', $code ), array( 'path' => $store['dir'] ) ) );
		}
		$response = wp_remote_get(
			$url,
			array(
				'timeout'     => 60,
				'redirection' => 0,
				'cookies'     => $cookies,
			)
		);
		self::assertNotWPError( $response );
		self::assertSame( 200, wp_remote_retrieve_response_code( $response ), "GET $url" );
		$html = (string) wp_remote_retrieve_body( $response );
		self::assertDoesNotMatchRegularExpression( '/<b>(Warning|Notice|Deprecated|Fatal error)<\/b>:/', $html, "$url shows a PHP error" );
		return $html;
	}

	/**
	 * Asserts that a value is not a WP_Error.
	 *
	 * @param mixed $value Value.
	 */
	protected static function assertNotWPError( $value ) {
		self::assertFalse( is_wp_error( $value ), is_wp_error( $value ) ? $value->get_error_message() : '' );
	}

	/**
	 * What the plugin's admin notice prints for the current user on the Dashboard. WooCommerce's
	 * own notices, which also hook admin_notices, are left out.
	 *
	 * @param string $screen The admin screen.
	 * @return string
	 */
	protected static function admin_notices( $screen = 'dashboard' ) {
		require_once ABSPATH . 'wp-admin/includes/class-wp-screen.php';
		require_once ABSPATH . 'wp-admin/includes/screen.php';
		// As in wp-admin: WooCommerce's notices ask which screen this is.
		set_current_screen( $screen );
		ob_start();
		try {
			do_action( 'admin_notices' );
		} finally {
			$html = (string) ob_get_clean();
			// Back to no screen, or is_admin() would stay true for the tests that follow.
			unset( $GLOBALS['current_screen'] );
		}
		preg_match_all( '/<div class="[^"]*\bcachicamo-sync-notice\b[^"]*">.*?<\/div>/s', $html, $ours );
		return implode( '', $ours[0] );
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
