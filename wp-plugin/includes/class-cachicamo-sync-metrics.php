<?php
/**
 * The panel's operations figures and its chart of recent runs, worked out once on the server:
 * the page renders them and the poll sends the same values for the script to put in place.
 *
 * @package Cachicamo_Sync
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Turns a GetMetricsResponse into what the panel shows.
 */
class Cachicamo_Sync_Metrics {

	// The chart always has room for this many runs, newest on the right, so a few runs do not
	// become a few fat bars.
	const CHART_RUNS = 30;

	// The SVG's own coordinates; CSS stretches it to the panel's width.
	const CHART_SLOT   = 10;
	const CHART_BAR    = 8;
	const CHART_HEIGHT = 80;

	// A run of a few milliseconds still gets a visible bar.
	const CHART_MIN_BAR = 2;

	/**
	 * The figures, as text, and the chart.
	 *
	 * @param array $metrics A GetMetricsResponse.
	 * @return array figures (name => text) and chart (width, height, longest, bars).
	 */
	public static function view( array $metrics ) {
		$runs = array_slice( $metrics['recent_runs'], -self::CHART_RUNS );
		$none = '–';
		return array(
			'figures' => array(
				'runs_today'    => number_format_i18n( (int) $metrics['runs_today'] ),
				'success_rate'  => $runs ? self::percent( (float) $metrics['success_rate'] ) : $none,
				'skus_per_hour' => number_format_i18n( (float) $metrics['skus_per_hour'] ),
				'run_duration'  => $runs ? self::duration( (int) $metrics['run_duration_avg_ms'] ) . ' / ' . self::duration( (int) $metrics['run_duration_p95_ms'] ) : $none,
				'api_requests'  => number_format_i18n( (int) $metrics['api_requests'] ),
				'api_latency'   => (int) $metrics['api_requests'] > 0 ? self::duration( (int) round( (float) $metrics['api_latency_p50_ms'] ) ) . ' / ' . self::duration( (int) round( (float) $metrics['api_latency_p95_ms'] ) ) : $none,
				'api_errors'    => (int) $metrics['api_requests'] > 0 ? self::percent( (float) $metrics['api_error_rate'] ) : $none,
				'queue_depth'   => number_format_i18n( (int) $metrics['queue_depth'] ),
			),
			'chart'   => self::chart( $runs ),
		);
	}

	/**
	 * Labels of the figures, in the order the panel shows them.
	 *
	 * @return array<string,string>
	 */
	public static function labels() {
		return array(
			'runs_today'    => __( 'Runs today', 'cachicamo-sync' ),
			/* translators: %d: number of runs. */
			'success_rate'  => sprintf( __( 'Runs without errors (last %d)', 'cachicamo-sync' ), self::CHART_RUNS ),
			'skus_per_hour' => __( 'SKUs per hour (last 24 h)', 'cachicamo-sync' ),
			'run_duration'  => __( 'Run time (average / 95th percentile)', 'cachicamo-sync' ),
			'api_requests'  => __( 'Cachicamo requests (last 15 min)', 'cachicamo-sync' ),
			'api_latency'   => __( 'Cachicamo latency (median / 95th percentile)', 'cachicamo-sync' ),
			'api_errors'    => __( 'Cachicamo errors (last 15 min)', 'cachicamo-sync' ),
			'queue_depth'   => __( 'Batches waiting', 'cachicamo-sync' ),
		);
	}

	/**
	 * One bar per run: height is its duration, relative to the longest; status gives the colour.
	 *
	 * @param array $runs RunSummary messages, oldest first.
	 * @return array width, height, longest (text, '' without runs) and bars (x, y, width, height,
	 *               status, title).
	 */
	private static function chart( array $runs ) {
		$longest = 0;
		foreach ( $runs as $run ) {
			$longest = max( $longest, (int) $run['duration_ms'] );
		}
		$bars   = array();
		$offset = self::CHART_RUNS - count( $runs );
		foreach ( array_values( $runs ) as $i => $run ) {
			$duration = (int) $run['duration_ms'];
			$height   = $longest > 0 ? (int) round( $duration * self::CHART_HEIGHT / $longest ) : 0;
			$height   = max( self::CHART_MIN_BAR, $height );
			$status   = Cachicamo_Sync_Status::run_status_name( $run['status'] );
			$synced   = (int) ( $run['totals']['synced'] ?? 0 );
			$bars[]   = array(
				'x'      => ( $offset + $i ) * self::CHART_SLOT + ( self::CHART_SLOT - self::CHART_BAR ) / 2,
				'y'      => self::CHART_HEIGHT - $height,
				'width'  => self::CHART_BAR,
				'height' => $height,
				'status' => $status,
				'title'  => sprintf(
					/* translators: 1: run id, 2: when it started, 3: status, 4: duration, 5: SKUs synced. */
					__( 'Run %1$d, %2$s: %3$s in %4$s, %5$s SKUs synced', 'cachicamo-sync' ),
					(int) $run['id'],
					Cachicamo_Sync_Status::when( (int) $run['started_at'] ),
					str_replace( '_', ' ', $status ),
					self::duration( $duration ),
					number_format_i18n( $synced )
				),
			);
		}
		return array(
			'width'   => self::CHART_RUNS * self::CHART_SLOT,
			'height'  => self::CHART_HEIGHT,
			'longest' => $runs ? self::duration( $longest ) : '',
			'bars'    => $bars,
		);
	}

	/**
	 * A share as a percentage: "98.5%".
	 *
	 * @param float $share 0 to 1.
	 * @return string
	 */
	private static function percent( $share ) {
		$percent = $share * 100;
		return number_format_i18n( $percent, floor( $percent ) === $percent ? 0 : 1 ) . '%';
	}

	/**
	 * A duration for people: "850 ms", "4.2 s", "3 min 5 s", "2 h 10 min".
	 *
	 * @param int $ms Milliseconds.
	 * @return string
	 */
	public static function duration( $ms ) {
		if ( $ms < 1000 ) {
			/* translators: %s: milliseconds. */
			return sprintf( __( '%s ms', 'cachicamo-sync' ), number_format_i18n( $ms ) );
		}
		if ( $ms < 60000 ) {
			/* translators: %s: seconds. */
			return sprintf( __( '%s s', 'cachicamo-sync' ), number_format_i18n( $ms / 1000, $ms < 10000 ? 1 : 0 ) );
		}
		$seconds = intdiv( $ms, 1000 );
		if ( $seconds < 3600 ) {
			/* translators: 1: minutes, 2: seconds. */
			return sprintf( __( '%1$d min %2$d s', 'cachicamo-sync' ), intdiv( $seconds, 60 ), $seconds % 60 );
		}
		/* translators: 1: hours, 2: minutes. */
		return sprintf( __( '%1$d h %2$d min', 'cachicamo-sync' ), intdiv( $seconds, 3600 ), intdiv( $seconds % 3600, 60 ) );
	}
}
