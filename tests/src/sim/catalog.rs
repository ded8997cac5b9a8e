//! The simulator's live copy of the inventory items, indexed by SKU.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

/// Items keyed by a sort key (their `product_uuid`, made unique) so
/// responses come out sorted like the real API's.
#[derive(Debug, Default)]
pub(crate) struct Catalog {
    items: BTreeMap<String, Value>,
    by_sku: HashMap<String, Vec<String>>,
}

fn skus_of(item: &Value) -> impl Iterator<Item = &str> {
    item.get("sku_list")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

impl Catalog {
    pub(crate) fn new(items: Vec<Value>) -> Self {
        let mut catalog = Catalog::default();
        for item in items {
            catalog.insert(item);
        }
        catalog
    }

    fn insert(&mut self, item: Value) {
        // Odd test items may lack a uuid or repeat one; they still get a slot.
        let base = item
            .get("product_uuid")
            .and_then(Value::as_str)
            .map_or_else(|| format!("~{:08}", self.items.len()), str::to_owned);
        let mut key = base.clone();
        let mut n = 1;
        while self.items.contains_key(&key) {
            key = format!("{base}#{n}");
            n += 1;
        }
        for sku in skus_of(&item) {
            self.by_sku
                .entry(sku.to_owned())
                .or_default()
                .push(key.clone());
        }
        self.items.insert(key, item);
    }

    fn remove(&mut self, key: &str) {
        let Some(item) = self.items.remove(key) else {
            return;
        };
        for sku in skus_of(&item) {
            if let Some(keys) = self.by_sku.get_mut(sku) {
                keys.retain(|k| k != key);
                if keys.is_empty() {
                    self.by_sku.remove(sku);
                }
            }
        }
    }

    fn key_for(&self, uuid_or_sku: &str) -> Option<String> {
        if self.items.contains_key(uuid_or_sku) {
            return Some(uuid_or_sku.to_owned());
        }
        self.by_sku
            .get(uuid_or_sku)
            .and_then(|keys| keys.first().cloned())
    }

    /// Items whose `sku_list` holds any of `skus`, each once, in uuid order.
    pub(crate) fn lookup<'a>(&self, skus: impl IntoIterator<Item = &'a str>) -> Vec<Value> {
        let keys: BTreeSet<&String> = skus
            .into_iter()
            .filter_map(|s| self.by_sku.get(s))
            .flatten()
            .collect();
        keys.into_iter()
            .filter_map(|k| self.items.get(k).cloned())
            .collect()
    }

    /// Replaces the item found by product uuid or SKU, or adds `item`.
    /// Returns whether an item was replaced.
    pub(crate) fn set_item(&mut self, uuid_or_sku: &str, item: Value) -> bool {
        let old = self.key_for(uuid_or_sku);
        if let Some(key) = &old {
            self.remove(key);
        }
        self.insert(item);
        old.is_some()
    }

    /// Sets `stock_billable` of the item holding `sku`. Returns whether found.
    pub(crate) fn set_stock(&mut self, sku: &str, stock: Value) -> bool {
        let Some(key) = self.key_for(sku) else {
            return false;
        };
        match self.items.get_mut(&key).and_then(Value::as_object_mut) {
            Some(obj) => {
                obj.insert("stock_billable".to_owned(), stock);
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Catalog;
    use serde_json::json;

    #[test]
    fn lookup_dedupes_and_sorts() {
        let mut c = Catalog::new(vec![
            json!({"product_uuid": "b", "sku_list": ["B", "WC-2"]}),
            json!({"product_uuid": "a", "sku_list": ["A", "WC-1"]}),
        ]);
        let found = c.lookup(["WC-2", "B", "A", "nope"]);
        let uuids: Vec<_> = found.iter().map(|i| i["product_uuid"].clone()).collect();
        assert_eq!(uuids, vec![json!("a"), json!("b")]);

        assert!(c.set_stock("WC-1", json!(7)));
        assert_eq!(c.lookup(["A"])[0]["stock_billable"], json!(7));
        assert!(c.set_item("b", json!({"product_uuid": "b", "sku_list": ["C"]})));
        assert!(c.lookup(["B"]).is_empty());
        assert_eq!(c.lookup(["C"]).len(), 1);
        assert!(!c.set_stock("B", json!(1)));
    }
}
