<?php
/**
 * Alerts reach people: a real alert raised by the sidecar (the last sync made to look two days
 * old) shows in the admin notice, the panel and WP-CLI, is e-mailed once and posted to the
 * webhook once when raised and once when cleared; a sidecar out of reach for five minutes is
 * e-mailed once. E-mails and webhook calls are captured, never sent.
 *
 * @package Cachicamo_Sync
 */

/**
 * Alert tests.
 */
class AlertsTest extends Cachicamo_Sync_Test_Case {

	const WEBHOOK = 'https://hooks.example.com/cachicamo/s3cret';

	/**
	 * E-mails wp_mail() was asked to send: to, subject, message.
	 *
	 * @var array
	 */
	private $mails = array();

	/**
	 * JSON bodies POSTed to the webhook.
	 *
	 * @var array
	 */
	private $posts = array();

	/**
	 * The settings before the test.
	 *
	 * @var array
	 */
	private $settings;

	/**
	 * Whether the runs' finish times are moved back.
	 *
	 * @var bool
	 */
	private $aged = false;

	protected function setUp(): void {
		self::login_as( 'admin' );
		$this->settings = get_option( Cachicamo_Sync_Settings::OPTION );
		update_option(
			Cachicamo_Sync_Settings::OPTION,
			array_merge(
				Cachicamo_Sync_Settings::get(),
				array(
					'cron_time'         => '720',
					'alert_webhook_url' => self::WEBHOOK,
				)
			)
		);
		add_filter( 'pre_wp_mail', array( $this, 'capture_mail' ), 10, 2 );
		add_filter( 'pre_http_request', array( $this, 'capture_post' ), 10, 3 );
	}

	protected function tearDown(): void {
		if ( $this->aged ) {
			$this->age_runs( '+' );
		}
		remove_filter( 'pre_wp_mail', array( $this, 'capture_mail' ) );
		remove_filter( 'pre_http_request', array( $this, 'capture_post' ) );
		update_option( Cachicamo_Sync_Settings::OPTION, $this->settings );
	}

	/**
	 * Keeps an e-mail instead of sending it.
	 *
	 * @param null|bool $short_circuit Null to send.
	 * @param array     $atts          to, subject, message, headers, attachments.
	 * @return bool
	 */
	public function capture_mail( $short_circuit, $atts ) {
		$this->mails[] = $atts;
		return true;
	}

	/**
	 * Keeps a webhook call and answers it; other requests (the simulator's controls) go through.
	 *
	 * @param false|array $preempt Whether to answer instead of WordPress.
	 * @param array       $args    Request arguments.
	 * @param string      $url     Where to.
	 * @return false|array
	 */
	public function capture_post( $preempt, $args, $url ) {
		if ( self::WEBHOOK !== $url ) {
			return $preempt;
		}
		$this->assertSame( 'POST', $args['method'] );
		$this->assertSame( 'application/json', $args['headers']['Content-Type'] );
		$this->assertLessThanOrEqual( 5, $args['timeout'], 'a webhook never holds up the tick for long' );
		$this->posts[] = json_decode( $args['body'], true );
		return array(
			'headers'  => array(),
			'body'     => '',
			'response' => array(
				'code'    => 200,
				'message' => 'OK',
			),
			'cookies'  => array(),
			'filename' => null,
		);
	}

	/**
	 * Moves every finished run's finish time two days back (-) or forward again (+): the
	 * sidecar's sync_overdue watches the newest one.
	 *
	 * @param string $direction - or +.
	 */
	private function age_runs( $direction ) {
		global $wpdb;
		$sign = '-' === $direction ? '-' : '+';
		$wpdb->query( "UPDATE {$wpdb->prefix}cachicamo_runs SET finished_at = finished_at {$sign} INTERVAL 2 DAY WHERE finished_at IS NOT NULL" ); // phpcs:ignore WordPress.DB
		$this->aged = '-' === $sign;
	}

	/**
	 * A tick, as WP-Cron runs it.
	 */
	private function tick() {
		do_action( Cachicamo_Sync_Cron::TICK_HOOK );
	}

	/**
	 * The sidecar's active alert of this kind.
	 *
	 * @param string $kind Alert kind.
	 * @return array|null
	 */
	private function active( $kind ) {
		foreach ( $this->client()->get_status()['active_alerts'] as $alert ) {
			if ( $kind === $alert['kind'] ) {
				return $alert;
			}
		}
		return null;
	}

	/**
	 * The webhook calls about one kind of alert.
	 *
	 * @param string $kind Alert kind.
	 * @return array
	 */
	private function posts_about( $kind ) {
		return array_values( array_filter( $this->posts, fn( $post ) => $kind === $post['kind'] ) );
	}

	public function test_an_overdue_sync_is_noticed_mailed_and_posted_once_then_cleared() {
		// A fresh run: it keeps the tick from starting a scheduled run once the history looks old.
		self::wait_for_idle();
		$this->client()->start_sync( 'cli' );
		self::wait_for_idle();
		$this->tick();
		$this->assertNull( $this->active( 'sync_overdue' ), 'a sync just finished' );
		$this->mails = array();
		$this->posts = array();

		$this->age_runs( '-' );
		$this->tick();
		$alert = $this->active( 'sync_overdue' );
		$this->assertNotNull( $alert, 'the sidecar raised sync_overdue on the tick' );
		$this->assertStringContainsString( 'more than twice the 720-minute interval', $alert['message'] );
		$this->tick();

		$this->assertCount( 1, $this->mails, 'one e-mail, even after a second tick: ' . wp_json_encode( array_column( $this->mails, 'subject' ) ) );
		$mail = $this->mails[0];
		$this->assertSame( 'admin@example.com', $mail['to'] );
		$this->assertSame( '[Cachicamo Sync test shop] Cachicamo Sync: Sync overdue', $mail['subject'] );
		$this->assertStringContainsString( $alert['message'], $mail['message'] );
		$this->assertStringContainsString( 'Raised: ', $mail['message'] );
		$this->assertStringContainsString( admin_url( 'tools.php?page=cachicamo-sync' ), $mail['message'] );

		$this->assertCount( 1, $this->posts, 'one webhook call' );
		$this->assertSame(
			array(
				'site'       => home_url(),
				'id'         => $alert['id'],
				'kind'       => 'sync_overdue',
				'message'    => $alert['message'],
				'raised_at'  => gmdate( 'c', $alert['raised_at'] ),
				'cleared_at' => null,
				'state'      => 'raised',
			),
			$this->posts[0]
		);

		$notice = self::admin_notices();
		$this->assertStringContainsString( esc_html( $alert['message'] ), $notice );
		$this->assertStringContainsString( 'href="' . esc_url( admin_url( 'tools.php?page=cachicamo-sync' ) ) . '"', $notice );
		$this->assertSame( '', self::admin_notices( 'tools_page_cachicamo-sync' ), 'the panel shows the alerts itself' );
		self::login_as( 'subscriber' );
		$this->assertSame( '', self::admin_notices(), 'a subscriber sees no notice' );
		self::login_as( 'admin' );

		ob_start();
		Cachicamo_Sync_Admin_Page::render_page();
		$html = (string) ob_get_clean();
		$this->assertMatchesRegularExpression( '/<li class="cachicamo-sync-alert">Sync overdue: ' . preg_quote( esc_html( $alert['message'] ), '/' ) . ' \(since [^<]+\)<\/li>/', $html );
		$this->assertMatchesRegularExpression( '/<td>Sync overdue<\/td><td>[^<]+<\/td><td>still active<\/td>/', $html );
		$poll = $this->ajax( 'cachicamo_sync_status' )['data'];
		$this->assertContains( 'sync_overdue', array_column( $poll['alerts'], 'kind' ) );

		$this->assertGreaterThanOrEqual( 1, self::json_of( self::wp_ok( array( 'cachicamo', 'status', '--format=json' ) ) )[0]['alerts'] );
		$listed = self::json_of( self::wp_ok( array( 'cachicamo', 'alerts', '--format=json' ) ) );
		$this->assertSame( 'active', wp_list_pluck( $listed, 'state', 'kind' )['sync_overdue'] ?? null, wp_json_encode( $listed ) );
		$table = self::wp_ok( array( 'cachicamo', 'alerts' ) );
		$this->assertMatchesRegularExpression( '/^' . $alert['id'] . '\tsync_overdue\tactive\t\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\t\t/m', $table, 'the table, tab-separated when piped' );

		$this->age_runs( '+' );
		$this->tick();
		$this->tick();
		$this->assertNull( $this->active( 'sync_overdue' ), 'cleared once the last sync is recent again' );
		$this->assertStringNotContainsString( esc_html( $alert['message'] ), self::admin_notices(), 'the notice is gone' );
		$this->assertCount( 1, $this->mails, 'no e-mail for the clear' );
		$posts = $this->posts_about( 'sync_overdue' );
		$this->assertCount( 2, $posts, 'one webhook call for the raise and one for the clear' );
		$this->assertSame( 'cleared', $posts[1]['state'] );
		$this->assertSame( $alert['id'], $posts[1]['id'] );
		$this->assertNotNull( $posts[1]['cleared_at'] );

		$all     = self::json_of( self::wp_ok( array( 'cachicamo', 'alerts', '--all', '--format=json' ) ) );
		$history = array_values( array_filter( $all, fn( $row ) => $alert['id'] === $row['id'] ) );
		$this->assertSame( 'cleared', $history[0]['state'] );
		$this->assertNotSame( '', $history[0]['cleared_at'] );
	}

	public function test_a_sidecar_out_of_reach_for_five_minutes_is_mailed_once() {
		$dead = fn() => new Cachicamo_Sync_Client( '/nonexistent/cachicamo.sock', 1.0 );
		add_filter( 'cachicamo_sync_client', $dead );
		try {
			$this->assertNull( Cachicamo_Sync_Cron::tick() );
			$down = get_option( Cachicamo_Sync_Alerts::DOWN_OPTION );
			$this->assertEqualsWithDelta( time(), $down['since'], 5, 'the outage starts at the first failed tick' );
			$this->assertSame( array(), $this->mails, 'a short outage is no news' );
			$this->assertStringNotContainsString( 'has not answered', self::admin_notices() );

			$down['since'] -= 6 * MINUTE_IN_SECONDS;
			update_option( Cachicamo_Sync_Alerts::DOWN_OPTION, $down );
			$this->tick();
			$this->tick();
			$this->assertCount( 1, $this->mails, 'one e-mail per outage' );
			$this->assertSame( '[Cachicamo Sync test shop] Cachicamo Sync: Sidecar unreachable', $this->mails[0]['subject'] );
			$this->assertStringContainsString( 'The Cachicamo Sync sidecar is not running: there is no socket at /nonexistent/cachicamo.sock.', $this->mails[0]['message'] );
			$this->assertStringContainsString( admin_url( 'tools.php?page=cachicamo-sync' ), $this->mails[0]['message'] );
			$this->assertSame( array( 'raised' ), array_column( $this->posts_about( 'sidecar_unreachable' ), 'state' ) );
			$this->assertMatchesRegularExpression( '/The Cachicamo Sync sidecar has not answered since [^:]+:\d\d[^:]*: The Cachicamo Sync sidecar is not running/', self::admin_notices() );
		} finally {
			remove_filter( 'cachicamo_sync_client', $dead );
		}

		$this->tick();
		$this->assertSame( array(), get_option( Cachicamo_Sync_Alerts::DOWN_OPTION ), 'the outage ended with an answer' );
		$this->assertSame( array( 'raised', 'cleared' ), array_column( $this->posts_about( 'sidecar_unreachable' ), 'state' ) );
		$this->assertStringNotContainsString( 'has not answered', self::admin_notices() );
		$this->assertCount( 1, $this->mails );
	}

	public function test_a_sidecar_without_its_database_is_an_outage_too() {
		global $wpdb;
		// A second, real sidecar on this store, logged in as a user that is then locked out.
		// MariaDB users are server-wide: this one carries the run's id (tests/php/run drops what a
		// failed test leaves), so that it can be locked out without touching anyone else's.
		$user   = 'cs_' . getenv( 'CACHICAMO_TEST_RUN_ID' ) . '_alerts';
		$socket = self::tmp( 'alerts-sidecar.sock' );
		$wpdb->query( $wpdb->prepare( 'DROP USER IF EXISTS %s@%s', $user, '%' ) );
		$wpdb->query( $wpdb->prepare( 'CREATE USER %s@%s IDENTIFIED BY %s', $user, '%', 'scratch-pass' ) );
		$wpdb->query( 'GRANT ALL PRIVILEGES ON `' . DB_NAME . '`.* TO \'' . $user . '\'@\'%\'' ); // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared -- identifiers.
		$env  = array(
			'PATH'                   => (string) getenv( 'PATH' ),
			'CACHICAMO_DB_URL'       => 'mysql://' . $user . ':scratch-pass@127.0.0.1:3306/' . DB_NAME,
			'CACHICAMO_SOCKET'       => $socket,
			'CACHICAMO_TABLE_PREFIX' => $wpdb->prefix,
			'CACHICAMO_API_URL'      => (string) getenv( 'CACHICAMO_SIM_URL' ),
		);
		$log  = self::tmp( 'alerts-sidecar.log' );
		$proc = proc_open( array( (string) getenv( 'CACHICAMO_SIDECAR_BIN' ), 'serve' ), array( array( 'file', '/dev/null', 'r' ), array( 'file', '/dev/null', 'a' ), array( 'file', $log, 'w' ) ), $pipes, null, $env );
		$this->assertIsResource( $proc );
		$scratch = fn() => new Cachicamo_Sync_Client( $socket, 5.0 );
		try {
			$ready = false;
			for ( $i = 0; $i < 100 && ! $ready; $i++ ) {
				usleep( 100000 );
				try {
					$ready = $scratch()->health();
				} catch ( RuntimeException $e ) {
					unset( $e );
				}
			}
			$this->assertTrue( $ready, 'the second sidecar started: ' . file_get_contents( $log ) );
			$wpdb->query( $wpdb->prepare( 'DROP USER %s@%s', $user, '%' ) );
			foreach ( $wpdb->get_col( $wpdb->prepare( 'SELECT ID FROM information_schema.PROCESSLIST WHERE USER = %s', $user ) ) as $id ) {
				$wpdb->query( 'KILL CONNECTION ' . (int) $id );
			}
			add_filter( 'cachicamo_sync_client', $scratch );
			$this->assertNull( Cachicamo_Sync_Cron::tick() );
			$down = get_option( Cachicamo_Sync_Alerts::DOWN_OPTION );
			$this->assertStringStartsWith( 'cannot reach the database', $down['message'] );
			$down['since'] -= 6 * MINUTE_IN_SECONDS;
			update_option( Cachicamo_Sync_Alerts::DOWN_OPTION, $down );
			$this->tick();
			$this->assertCount( 1, $this->mails, 'one e-mail for the outage' );
			$this->assertStringContainsString( 'cannot reach the database', $this->mails[0]['message'] );
		} finally {
			remove_filter( 'cachicamo_sync_client', $scratch );
			proc_terminate( $proc );
			proc_close( $proc );
			@unlink( $log ); // phpcs:ignore WordPress.PHP.NoSilencedErrors
			$wpdb->query( $wpdb->prepare( 'DROP USER IF EXISTS %s@%s', $user, '%' ) );
		}
		$this->tick();
		$this->assertSame( array(), get_option( Cachicamo_Sync_Alerts::DOWN_OPTION ), 'the real sidecar answers again' );
	}

	/**
	 * Puts one alert in the notice's cache, as a tick this many minutes ago would have.
	 *
	 * @param array $alert   An alert view.
	 * @param int   $minutes How long ago.
	 */
	private function cache( array $alert, $minutes ) {
		update_option(
			Cachicamo_Sync_Alerts::CACHE_OPTION,
			array(
				'checked_at' => time() - $minutes * MINUTE_IN_SECONDS,
				'active'     => array( $alert ),
			)
		);
	}

	public function test_the_notice_reads_only_the_cache_and_trusts_it_for_ten_minutes() {
		$asked  = 0;
		$count  = function ( $client ) use ( &$asked ) {
			++$asked;
			return $client;
		};
		$before = get_option( Cachicamo_Sync_Alerts::CACHE_OPTION );
		$alert  = array(
			'id'         => 1,
			'kind'       => 'stalled_run',
			'title'      => 'Sync run stalled',
			'message'    => 'Run 9 has made no progress for 12 minutes.',
			'raised_at'  => time() - 60,
			'cleared_at' => 0,
			'raised'     => '',
			'cleared'    => '',
		);
		add_filter( 'cachicamo_sync_client', $count );
		try {
			$this->cache( $alert, 9 );
			$this->assertStringContainsString( 'Run 9 has made no progress for 12 minutes.', self::admin_notices() );
			$this->cache( $alert, 11 );
			$this->assertSame( '', self::admin_notices(), 'WP-Cron has not refreshed it for too long to trust it' );
			$this->assertSame( 0, $asked, 'the notice never calls the sidecar' );
		} finally {
			remove_filter( 'cachicamo_sync_client', $count );
			update_option( Cachicamo_Sync_Alerts::CACHE_OPTION, $before );
		}
	}

	public function test_the_first_report_leaves_old_history_alone() {
		delete_option( Cachicamo_Sync_Notifier::LAST_ID_OPTION );
		$this->tick();
		$status = $this->client()->get_status();
		$this->assertCount( count( $status['active_alerts'] ), $this->mails, 'only what is active now is e-mailed' );
		$ids = array_column( $status['recent_alerts'], 'id' );
		$this->assertSame( $ids ? max( $ids ) : 0, (int) get_option( Cachicamo_Sync_Notifier::LAST_ID_OPTION ) );
	}

	public function test_a_failing_webhook_is_only_logged() {
		update_option( Cachicamo_Sync_Settings::OPTION, array_merge( Cachicamo_Sync_Settings::get(), array( 'alert_webhook_url' => 'http://127.0.0.1:9/hook' ) ) );
		$dead = fn() => new Cachicamo_Sync_Client( '/nonexistent/cachicamo.sock', 1.0 );
		add_filter( 'cachicamo_sync_client', $dead );
		try {
			Cachicamo_Sync_Cron::tick();
			$down          = get_option( Cachicamo_Sync_Alerts::DOWN_OPTION );
			$down['since'] = time() - 6 * MINUTE_IN_SECONDS;
			update_option( Cachicamo_Sync_Alerts::DOWN_OPTION, $down );
			$started = microtime( true );
			$this->assertNull( Cachicamo_Sync_Cron::tick() );
			$this->assertLessThan( 6, microtime( true ) - $started, 'the tick went on without the webhook' );
		} finally {
			remove_filter( 'cachicamo_sync_client', $dead );
		}
		$this->assertCount( 1, $this->mails, 'the e-mail went all the same' );
		Cachicamo_Sync_Cron::tick();
		$this->assertSame( array(), get_option( Cachicamo_Sync_Alerts::DOWN_OPTION ) );
	}
}
