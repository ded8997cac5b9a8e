<?php
/**
 * `wp cachicamo …` through the real WP-CLI (the released phar, as a subprocess) on the real
 * store: what each subcommand prints on stdout and stderr, and its exit code.
 *
 * @package Cachicamo_Sync
 */

/**
 * WP-CLI tests.
 */
class CliTest extends Cachicamo_Sync_Test_Case {

	// For --require: the sidecar is stopped.
	const DEAD = __DIR__ . '/../support/dead-sidecar.php';

	/**
	 * Runs `wp cachicamo …`.
	 *
	 * @param string[] $args    Subcommand and arguments.
	 * @param array    $options See wp().
	 * @return array out, err, code.
	 */
	private static function cachicamo( array $args, array $options = array() ) {
		return self::wp( array_merge( array( 'cachicamo' ), $args ), $options );
	}

	/**
	 * `wp cachicamo …` that must succeed; its stdout.
	 *
	 * @param string[] $args    Subcommand and arguments.
	 * @param array    $options See wp().
	 * @return string
	 */
	private static function cachicamo_ok( array $args, array $options = array() ) {
		return self::wp_ok( array_merge( array( 'cachicamo' ), $args ), $options );
	}

	public function test_every_subcommand_is_listed_with_a_whole_sentence() {
		$help = self::wp_ok( array( 'help', 'cachicamo' ) );
		$this->assertMatchesRegularExpression( '/SUBCOMMANDS\n\n(.*?)(\n\n|$)/s', $help );
		preg_match( '/SUBCOMMANDS\n\n(.*?)(\n\n|$)/s', $help, $section );
		$entries = array();
		foreach ( preg_split( '/^  (?=[a-z])/m', $section[1], -1, PREG_SPLIT_NO_EMPTY ) as $entry ) {
			list( $name, $summary ) = preg_split( '/\s{2,}/', trim( $entry ), 2 );
			$entries[ $name ]       = preg_replace( '/\s+/', ' ', $summary );
		}
		$this->assertSame( array( 'alerts', 'batches', 'changes', 'doctor', 'pause', 'resume', 'retry-failed', 'sku', 'status', 'sync' ), array_keys( $entries ) );
		foreach ( $entries as $name => $summary ) {
			// WP-CLI shows a docblock's first line only: a sentence running on to the next is cut.
			$this->assertStringEndsWith( '.', $summary, "the summary of $name" );
		}
	}

	public function test_sync_wait_prints_only_json_when_asked_for_json() {
		self::wait_for_idle();
		$out  = self::cachicamo_ok( array( 'sync', '--wait', '--format=json' ) );
		$rows = self::json_of( $out );
		$this->assertCount( 1, $rows );
		$this->assertSame( 'completed', $rows[0]['status'] );
		list( $done, $total ) = array_map( 'intval', explode( '/', $rows[0]['batches'] ) );
		$this->assertSame( $total, $done );
		$this->assertSame( self::client()->get_status()['last_run']['id'], $rows[0]['run_id'] );
	}

	public function test_sync_wait_on_a_terminal_shows_a_bar_that_ends_at_100_percent() {
		self::wait_for_idle();
		// As on a terminal: WP-CLI draws the bar only when stdout is not piped.
		$out = self::cachicamo_ok( array( 'sync', '--wait' ), array( 'env' => array( 'SHELL_PIPE' => '0' ) ) );
		$out = preg_replace( '/\e\[[\d;]*m/', '', $out );
		$run = self::client()->get_status()['last_run'];
		preg_match_all( '/\rRun (\d+)\s+(\d+)\s*% \[/', $out, $frames, PREG_SET_ORDER );
		$this->assertNotEmpty( $frames, "a progress bar: $out" );
		foreach ( $frames as $frame ) {
			$this->assertSame( (string) $run['id'], $frame[1] );
			$this->assertLessThanOrEqual( 100, (int) $frame[2], 'never more ticks than batches' );
		}
		$this->assertSame( '100', end( $frames )[2], 'one tick per batch: the last frame is full' );
		$this->assertMatchesRegularExpression( '/\|\s*' . $run['id'] . '\s*\|\s*completed\s*\|\s*' . $run['total_batches'] . '\/' . $run['total_batches'] . '\s*\|/', $out, 'the table' );
		$this->assertStringContainsString( 'Success: ', $out );
		$this->assertStringContainsString( 'Run ' . $run['id'] . ' completed.', $out );
	}

	public function test_sync_without_wait_starts_and_returns() {
		self::wait_for_idle();
		$out = self::cachicamo_ok( array( 'sync' ) );
		$this->assertMatchesRegularExpression( '/^Success: Started run (\d+) \((\d+) batches\)\.$/m', $out );
		preg_match( '/Started run (\d+)/', $out, $m );
		$this->assertSame( (int) $m[1], self::wait_for_idle()['id'], 'the run it started is the last one' );
	}

	public function test_status_batches_and_changes_describe_the_last_run() {
		self::wait_for_idle();
		$product = self::expected( 'simple' )[40];
		$stored  = wc_get_product( $product['product_id'] );
		$stored->set_stock_quantity( 999 );
		$stored->save();
		$run = self::json_of( self::cachicamo_ok( array( 'sync', '--wait', '--format=json' ) ) )[0];

		$status = self::json_of( self::cachicamo_ok( array( 'status', '--format=json' ) ) )[0];
		$this->assertSame( 'idle', $status['state'] );
		$this->assertMatchesRegularExpression( '/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/', $status['since'] );
		$this->assertStringStartsWith( 'healthy', $status['health'] );
		$this->assertSame( $run['run_id'], $status['run_id'] );
		$this->assertSame( 'completed', $status['run'] );
		$this->assertSame( $run['batches'], $status['progress'] );

		$batches = self::json_of( self::cachicamo_ok( array( 'batches', '--format=json' ) ) );
		$this->assertCount( (int) explode( '/', $run['batches'] )[1], $batches );
		$this->assertSame( array( 'completed' ), array_values( array_unique( array_column( $batches, 'status' ) ) ) );
		$this->assertSame( $run['skus'], array_sum( array_column( $batches, 'skus' ) ) );
		$this->assertSame( '0', trim( self::cachicamo_ok( array( 'batches', '--status=error', '--format=count' ) ) ) );

		$bogus = self::cachicamo( array( 'batches', '--status=bogus' ) );
		$this->assertSame( 1, $bogus['code'] );
		$this->assertStringContainsString( "Invalid value specified for 'status'", $bogus['err'], 'WP-CLI checks the documented options' );

		$changes = self::json_of( self::cachicamo_ok( array( 'changes', '--limit=1000', '--format=json' ) ) );
		$ours    = array_values( array_filter( $changes, fn( $c ) => $product['product_id'] === $c['product_id'] ) );
		$this->assertNotEmpty( $ours, 'the product changed by this test is listed' );
		$this->assertSame( '999 → ' . $product['stock'], $ours[0]['stock'] );
		$this->assertCount( min( 5, count( $changes ) ), self::json_of( self::cachicamo_ok( array( 'changes', '--limit=5', '--format=json' ) ) ) );
		$limit = self::cachicamo( array( 'changes', '--limit=0' ) );
		$this->assertSame( 1, $limit['code'] );
		$this->assertStringContainsString( 'Error: --limit must be from 1 to 1000.', $limit['err'] );
	}

	public function test_sku_pause_and_resume() {
		self::wait_for_idle();
		$product = self::expected( 'simple' )[30];
		$rows    = self::json_of( self::cachicamo_ok( array( 'sku', $product['sku'], 'NO-SUCH', '--format=json' ) ) );
		$this->assertSame( $product['sku'], $rows[0]['sku'] );
		$this->assertSame( $product['product_id'], $rows[0]['product_id'] );
		$this->assertContains( $rows[0]['outcome'], array( 'changed', 'unchanged' ) );
		$this->assertSame( 'not_found', $rows[1]['outcome'] );

		$this->assertStringContainsString( 'Success: Paused: no new batches are claimed until `wp cachicamo resume`.', self::cachicamo_ok( array( 'pause' ) ) );
		try {
			$this->assertTrue( self::client()->get_status()['paused'] );
			$this->assertSame( 'paused', self::json_of( self::cachicamo_ok( array( 'status', '--format=json' ) ) )[0]['state'] );
		} finally {
			$this->assertStringContainsString( 'Success: Resumed.', self::cachicamo_ok( array( 'resume' ) ) );
		}
		$this->assertFalse( self::client()->get_status()['paused'] );
	}

	public function test_retry_failed_requeues_the_failed_batch_of_the_run() {
		self::wait_for_idle();
		$victim = self::expected( 'simple' )[5];
		self::sim( 'faults', array( 'fail_skus' => array( $victim['sku'] ) ) );
		try {
			self::client()->start_sync( 'cli' );
			$run = self::wait_for_idle();
		} finally {
			self::sim( 'faults', array( 'reset' => true ) );
		}
		$this->assertSame( 'completed_with_errors', Cachicamo_Sync_Status::run_status_name( $run['status'] ) );
		$failed = self::json_of( self::cachicamo_ok( array( 'batches', '--run=' . $run['id'], '--status=error', '--format=json' ) ) );
		$this->assertCount( 1, $failed );
		$this->assertStringContainsString( 'HTTP 500', $failed[0]['message'] );

		$out = self::cachicamo_ok( array( 'retry-failed', '--run=' . $run['id'] ) );
		$this->assertStringContainsString( 'Success: Requeued 1 failed batches of run ' . $run['id'] . '.', $out );
		$this->assertSame( 'completed', Cachicamo_Sync_Status::run_status_name( self::wait_for_idle()['status'] ) );
	}

	public function test_doctor_passes_and_names_what_is_wrong() {
		$checks = self::json_of( self::cachicamo_ok( array( 'doctor', '--format=json' ) ) );
		$status = wp_list_pluck( $checks, 'status', 'check' );
		$this->assertSame( array( 'socket', 'sidecar', 'database', 'cachicamo api', 'credentials', 'cron' ), array_keys( $status ) );
		$this->assertSame( array( 'ok' ), array_values( array_unique( $status ) ), wp_json_encode( $checks ) );
		$this->assertStringContainsString( 'DISABLE_WP_CRON is set', wp_list_pluck( $checks, 'detail', 'check' )['cron'] );
		$this->assertStringContainsString( 'Success: All checks passed.', self::cachicamo_ok( array( 'doctor' ) ) );

		$dead = self::cachicamo( array( 'doctor', '--format=json' ), array( 'require' => array( self::DEAD ) ) );
		$this->assertSame( 1, $dead['code'] );
		$detail = wp_list_pluck( self::json_of( $dead['out'] ), 'detail', 'check' );
		$this->assertStringContainsString( 'not running', $detail['sidecar'] );
		$this->assertMatchesRegularExpression( '/^Error: \d+ of 6 checks failed\.$/m', $dead['err'] );
	}

	public function test_a_dead_sidecar_ends_commands_with_the_reason() {
		foreach ( array( array( 'sync' ), array( 'status' ), array( 'alerts' ) ) as $args ) {
			$result = self::cachicamo( $args, array( 'require' => array( self::DEAD ) ) );
			$this->assertSame( 1, $result['code'], implode( ' ', $args ) );
			$this->assertSame( '', $result['out'] );
			$this->assertStringStartsWith( 'Error: The Cachicamo Sync sidecar is not running', $result['err'] );
		}
	}

	public function test_a_sku_that_is_not_utf8_ends_the_command_with_the_reason() {
		$result = self::cachicamo( array( 'sku', "BAD-\xff", '--format=json' ) );
		$this->assertSame( 1, $result['code'] );
		$this->assertSame( "Error: SyncSkusRequest.skus must be a UTF-8 string.\n", $result['err'] );
	}
}
