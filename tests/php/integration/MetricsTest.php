<?php
/**
 * The panel's operations figures, its chart of recent runs and the engine line, against what the
 * sidecar's GetMetrics and GetStatus answer.
 *
 * @package Cachicamo_Sync
 */

/**
 * Metrics panel tests.
 */
class MetricsTest extends Cachicamo_Sync_Test_Case {

	protected function setUp(): void {
		self::login_as( 'admin' );
	}

	/**
	 * The Tools page as the admin sees it.
	 *
	 * @return string
	 */
	private function page() {
		ob_start();
		Cachicamo_Sync_Admin_Page::render_page();
		return (string) ob_get_clean();
	}

	public function test_the_panel_shows_one_bar_per_recent_run_and_the_figures() {
		// Two runs of its own at least, whatever ran before, so that there is a left and a right.
		self::settle();
		$this->client()->start_sync( 'manual' );
		self::wait_for_idle();
		$metrics = $this->client()->get_metrics( 30 );
		$runs    = $metrics['recent_runs'];
		$this->assertGreaterThanOrEqual( 2, count( $runs ) );
		$this->assertLessThanOrEqual( 30, count( $runs ) );
		$html = $this->page();

		preg_match_all( '/<rect class="cachicamo-sync-bar cachicamo-sync-bar-([a-z_]+)" x="([\d.]+)" y="([\d.]+)" width="8" height="(\d+)"><title>([^<]+)<\/title><\/rect>/', $html, $bars, PREG_SET_ORDER );
		$this->assertCount( count( $runs ), $bars, 'one bar per recent run' );
		$longest = max( array_column( $runs, 'duration_ms' ) );
		foreach ( array_values( $runs ) as $i => $run ) {
			$bar = $bars[ $i ];
			$this->assertSame( Cachicamo_Sync_Status::run_status_name( $run['status'] ), $bar[1], 'coloured by status' );
			$this->assertStringStartsWith( 'Run ' . $run['id'] . ', ', html_entity_decode( $bar[5] ), 'oldest first, with a tooltip' );
			if ( $run['duration_ms'] === $longest ) {
				$this->assertSame( '80', $bar[4], 'the longest run fills the chart' );
			}
			$this->assertGreaterThanOrEqual( 2, (int) $bar[4], 'every run is visible' );
		}
		$this->assertLessThan( (float) end( $bars )[2], (float) $bars[0][2], 'the newest run is on the right' );
		$this->assertSame( 'completed', end( $bars )[1] );

		$figures = Cachicamo_Sync_Metrics::view( $metrics )['figures'];
		foreach ( array( 'runs_today', 'success_rate', 'skus_per_hour', 'run_duration', 'queue_depth' ) as $name ) {
			$this->assertStringContainsString( 'data-metric="' . $name . '">' . esc_html( $figures[ $name ] ) . '<', $html, $name );
		}
		$this->assertSame( number_format_i18n( $metrics['runs_today'] ), $figures['runs_today'] );
		$this->assertGreaterThanOrEqual( 1, $metrics['runs_today'] );
		$this->assertGreaterThan( 0, $metrics['api_requests'], 'the run just asked Cachicamo' );
		$this->assertMatchesRegularExpression( '/^[\d.,]+ (ms|s)$/', explode( ' / ', $this->ajax( 'cachicamo_sync_status' )['data']['metrics']['figures']['api_latency'] )[0] );
		$this->assertMatchesRegularExpression( '/<span data-field="engine">Engine: idle since [^<]+<\/span>/', $html );
	}

	public function test_the_poll_sends_the_same_chart() {
		self::settle();
		$poll  = $this->ajax( 'cachicamo_sync_status' )['data'];
		$chart = $poll['metrics']['chart'];
		$this->assertSame( 300, $chart['width'] );
		$this->assertSame( 80, $chart['height'] );
		$this->assertCount( count( $this->client()->get_metrics( 30 )['recent_runs'] ), $chart['bars'] );
		$this->assertNotSame( '', $chart['longest'] );
		$this->assertSame( array( 'x', 'y', 'width', 'height', 'status', 'title' ), array_keys( $chart['bars'][0] ) );
		$this->assertSame( 'idle', $poll['state'] );
		$this->assertGreaterThan( 0, $poll['state_since'] );
		$this->assertStringStartsWith( 'Engine: idle since ', $poll['engine_text'] );
	}

	public function test_durations_read_well() {
		$this->assertSame( '850 ms', Cachicamo_Sync_Metrics::duration( 850 ) );
		$this->assertSame( '4.2 s', Cachicamo_Sync_Metrics::duration( 4210 ) );
		$this->assertSame( '42 s', Cachicamo_Sync_Metrics::duration( 42400 ) );
		$this->assertSame( '3 min 5 s', Cachicamo_Sync_Metrics::duration( 185000 ) );
		$this->assertSame( '2 h 10 min', Cachicamo_Sync_Metrics::duration( 7800000 ) );
	}

	public function test_without_runs_the_chart_says_so() {
		$view = Cachicamo_Sync_Metrics::view(
			array(
				'runs_today'          => 0,
				'success_rate'        => 0.0,
				'skus_per_hour'       => 0.0,
				'run_duration_avg_ms' => 0,
				'run_duration_p95_ms' => 0,
				'api_requests'        => 0,
				'api_latency_p50_ms'  => 0.0,
				'api_latency_p95_ms'  => 0.0,
				'api_error_rate'      => 0.0,
				'queue_depth'         => 0,
				'recent_runs'         => array(),
			)
		);
		$this->assertSame( array(), $view['chart']['bars'] );
		$this->assertSame( '–', $view['figures']['success_rate'], 'no rate without runs' );
		$this->assertSame( '–', $view['figures']['api_latency'] );
		$this->assertSame( '0', $view['figures']['queue_depth'] );
	}
}
