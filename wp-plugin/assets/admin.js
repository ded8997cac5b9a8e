/**
 * Keeps the Cachicamo Sync panel live: starts a sync, polls while it runs, retries failed
 * batches, and refreshes the figures, the runs chart and the alerts. Every value is written with
 * textContent or as an SVG attribute, never as HTML; the server works out what to show.
 */
( function () {
	'use strict';

	var config = window.cachicamoSync;
	var panel = document.getElementById( 'cachicamo-sync-panel' );
	if ( ! config || ! panel ) {
		return;
	}
	var timer = null;
	var SVG = 'http://www.w3.org/2000/svg';

	function field( name ) {
		return panel.querySelector( '[data-field="' + name + '"]' );
	}

	function setText( name, value ) {
		var el = field( name );
		if ( el ) {
			el.textContent = value;
		}
	}

	function showNotice( role, message ) {
		var box = panel.querySelector( '[data-role="' + role + '"]' );
		if ( ! box ) {
			return;
		}
		box.hidden = ! message;
		setText( role, message || '' );
	}

	function format( template, a, b ) {
		return template.replace( '%1$d', a ).replace( '%2$d', b );
	}

	// One pass, so that a value containing %2$s or $& is never read as a placeholder.
	function formatText( template, values ) {
		var next = 0;
		return template.replace( /%(?:(\d+)\$)?s/g, function ( match, position ) {
			var value = position ? values[ position - 1 ] : values[ next++ ];
			return undefined === value ? match : String( value );
		} );
	}

	function renderMetrics( metrics ) {
		if ( ! metrics ) {
			return;
		}
		Object.keys( metrics.figures ).forEach( function ( name ) {
			var cell = panel.querySelector( '[data-metric="' + name + '"]' );
			if ( cell ) {
				cell.textContent = metrics.figures[ name ];
			}
		} );
		var chart = panel.querySelector( '[data-list="chart"]' );
		chart.textContent = '';
		metrics.chart.bars.forEach( function ( bar ) {
			var rect = document.createElementNS( SVG, 'rect' );
			[ 'x', 'y', 'width', 'height' ].forEach( function ( name ) {
				rect.setAttribute( name, String( bar[ name ] ) );
			} );
			rect.setAttribute( 'class', 'cachicamo-sync-bar cachicamo-sync-bar-' + bar.status );
			var title = document.createElementNS( SVG, 'title' );
			title.textContent = bar.title;
			rect.appendChild( title );
			chart.appendChild( rect );
		} );
		setText( 'chart_note', metrics.chart.longest ? formatText( config.i18n.longest, [ metrics.chart.longest ] ) : config.i18n.noRuns );
	}

	function cells( texts, colSpan ) {
		var tr = document.createElement( 'tr' );
		texts.forEach( function ( text ) {
			var td = document.createElement( 'td' );
			td.textContent = text;
			if ( colSpan ) {
				td.colSpan = colSpan;
			}
			tr.appendChild( td );
		} );
		return tr;
	}

	function renderRun( run ) {
		if ( ! run ) {
			return;
		}
		var bar = panel.querySelector( '.cachicamo-sync-progress' );
		bar.setAttribute( 'aria-valuenow', String( run.percent ) );
		panel.querySelector( '.cachicamo-sync-progress-bar' ).style.width = run.percent + '%';
		setText( 'percent', run.percent + '%' );
		setText( 'batches', format( config.i18n.batches, run.batches_done, run.total_batches ) );
		setText( 'run_status', run.status.replace( /_/g, ' ' ) );
		[ 'synced', 'changed', 'errors', 'not_found', 'conflicts' ].forEach( function ( name ) {
			setText( name, Number( run[ name ] ).toLocaleString() );
		} );
	}

	function renderList( name, items, empty, build ) {
		var list = panel.querySelector( '[data-list="' + name + '"]' );
		if ( ! list ) {
			return;
		}
		list.textContent = '';
		if ( ! items || ! items.length ) {
			list.appendChild( build( null, empty ) );
			return;
		}
		items.forEach( function ( item ) {
			list.appendChild( build( item ) );
		} );
	}

	function arrow( oldValue, newValue ) {
		if ( ! newValue ) {
			return '';
		}
		return ( oldValue || '–' ) + ' → ' + newValue;
	}

	function render( data ) {
		if ( panel.dataset.running === '1' && ! data.running ) {
			showNotice( 'info', '' );
		}
		panel.dataset.running = data.running ? '1' : '0';
		showNotice( 'error', data.ok ? '' : data.message );
		setText( 'last_sync', data.last_sync || config.i18n.never );
		if ( ! data.ok ) {
			return;
		}
		setText( 'health', data.health_text || '' );
		renderRun( data.run );
		renderList( 'failed_batches', data.failed_batches, config.i18n.noFailed, function ( batch, empty ) {
			var li = document.createElement( 'li' );
			li.textContent = batch ? 'Batch ' + batch.number + ' of ' + batch.total + ': ' + batch.message : empty;
			return li;
		} );
		panel.querySelector( '[data-action="retry"]' ).disabled = ! ( data.failed_batches && data.failed_batches.length );
		renderList( 'recent_changes', data.recent_changes, config.i18n.noChanges, function ( change, empty ) {
			return change
				? cells( [ change.name || '#' + change.product_id, change.sku, arrow( change.old_stock, change.new_stock ), arrow( change.old_price, change.new_price ) ] )
				: cells( [ empty ], 4 );
		} );
		setText( 'engine', data.engine_text || '' );
		renderMetrics( data.metrics );
		renderList( 'alerts', data.alerts, config.i18n.noAlerts, function ( alert, empty ) {
			var li = document.createElement( 'li' );
			li.textContent = alert ? formatText( config.i18n.alert, [ alert.title, alert.message, alert.raised ] ) : empty;
			if ( alert ) {
				li.className = 'cachicamo-sync-alert';
			}
			return li;
		} );
		renderList( 'alert_history', data.alert_history, config.i18n.noHistory, function ( alert, empty ) {
			return alert
				? cells( [ alert.raised, alert.title, alert.message, alert.cleared || config.i18n.active ] )
				: cells( [ empty ], 4 );
		} );
	}

	function post( action ) {
		var body = new URLSearchParams();
		body.append( 'action', action );
		body.append( 'nonce', config.nonce );
		return fetch( config.ajaxUrl, { method: 'POST', credentials: 'same-origin', body: body } ).then( function ( response ) {
			return response.json().catch( function () {
				return { success: false, data: { message: config.i18n.failed } };
			} );
		} );
	}

	function schedule() {
		clearTimeout( timer );
		timer = setTimeout( poll, panel.dataset.running === '1' ? 1000 : 15000 );
	}

	function poll() {
		post( 'cachicamo_sync_status' )
			.then( function ( reply ) {
				if ( reply.success ) {
					render( reply.data );
				} else {
					showNotice( 'error', ( reply.data && reply.data.message ) || config.i18n.failed );
				}
			} )
			.catch( function () {
				showNotice( 'error', config.i18n.failed );
			} )
			.then( schedule );
	}

	function act( action, button ) {
		button.disabled = true;
		showNotice( 'info', config.i18n.starting );
		post( action )
			.then( function ( reply ) {
				var data = reply.data || {};
				showNotice( 'info', reply.success ? data.message : '' );
				showNotice( 'error', reply.success ? '' : data.message || config.i18n.failed );
				if ( reply.success && data.run ) {
					panel.dataset.running = '1';
					renderRun( data.run );
				}
			} )
			.catch( function () {
				showNotice( 'error', config.i18n.failed );
			} )
			.then( function () {
				button.disabled = false;
				poll();
			} );
	}

	panel.querySelector( '[data-action="start"]' ).addEventListener( 'click', function ( event ) {
		act( 'cachicamo_sync_start', event.currentTarget );
	} );
	panel.querySelector( '[data-action="retry"]' ).addEventListener( 'click', function ( event ) {
		act( 'cachicamo_sync_retry_failed', event.currentTarget );
	} );
	schedule();
}() );
