/**
 * Keeps the Cachicamo Sync panel live: starts a sync, polls while it runs, retries failed
 * batches. Every value is written with textContent, never as HTML.
 */
( function () {
	'use strict';

	var config = window.cachicamoSync;
	var panel = document.getElementById( 'cachicamo-sync-panel' );
	if ( ! config || ! panel ) {
		return;
	}
	var timer = null;

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
			var tr = document.createElement( 'tr' );
			var cells = change
				? [ change.name || '#' + change.product_id, change.sku, arrow( change.old_stock, change.new_stock ), arrow( change.old_price, change.new_price ) ]
				: [ empty ];
			cells.forEach( function ( text ) {
				var td = document.createElement( 'td' );
				td.textContent = text;
				if ( ! change ) {
					td.colSpan = 4;
				}
				tr.appendChild( td );
			} );
			return tr;
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
