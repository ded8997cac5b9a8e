<?php
/**
 * Stand-ins for the two WP-CLI utilities the commands use.
 *
 * @package Cachicamo_Sync
 */

namespace WP_CLI\Utils;

/**
 * Records items as WP-CLI's formatter would print them; json and count are exact.
 *
 * @param string $format Format.
 * @param array  $items  Rows.
 * @param array  $fields Columns.
 */
function format_items( $format, $items, $fields ) {
	$rows = array();
	foreach ( $items as $item ) {
		$rows[] = array_intersect_key( (array) $item, array_flip( $fields ) );
	}
	if ( 'json' === $format ) {
		\WP_CLI::line( json_encode( $rows ) );
	} elseif ( 'count' === $format ) {
		\WP_CLI::line( (string) count( $rows ) );
	} else {
		\WP_CLI::line( implode( "\t", $fields ) );
		foreach ( $rows as $row ) {
			\WP_CLI::line( implode( "\t", array_map( 'strval', $row ) ) );
		}
	}
}

/**
 * A progress bar that counts its ticks.
 *
 * @param string $label Label.
 * @param int    $count Total.
 * @return object
 */
function make_progress_bar( $label, $count ) {
	$bar = new class() {
		public $ticks    = 0;
		public $total    = 0;
		public $finished = false;
		public function tick() {
			++$this->ticks;
		}
		public function finish() {
			$this->finished = true;
		}
	};
	$bar->total                   = $count;
	$GLOBALS['cachicamo_test_bar'] = $bar;
	return $bar;
}
