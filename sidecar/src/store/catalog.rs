//! Reading the products a sync covers: published simple and variable products and the
//! variations of published variable products, each with its SKU and `WC-<id>` alias.

use std::collections::HashMap;

use futures::TryStreamExt;
use mysql_async::prelude::Queryable;
use mysql_async::{Params, Value};

use super::{padded, placeholders, SqlContext, Store, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProductKind {
    Simple,
    Variable,
    Variation,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogProduct {
    pub id: u64,
    /// The variable product of a variation; 0 otherwise.
    pub parent_id: u64,
    pub kind: ProductKind,
    /// The trimmed, non-empty `_sku`.
    pub sku: Option<String>,
}

/// The key Cachicamo knows every WooCommerce product by, SKU or not.
pub fn alias_for(id: u64) -> String {
    format!("WC-{id}")
}

impl CatalogProduct {
    /// The keys sent to Cachicamo for this product: its SKU, then its alias.
    pub fn keys(&self) -> Vec<String> {
        let mut keys = Vec::with_capacity(2);
        if let Some(sku) = &self.sku {
            keys.push(sku.clone());
        }
        keys.push(alias_for(self.id));
        keys
    }

    /// The key a person recognises the product by.
    pub fn label(&self) -> String {
        match &self.sku {
            Some(sku) => format!("product {} (SKU {sku:?})", self.id),
            None => format!("product {} ({})", self.id, alias_for(self.id)),
        }
    }
}

/// A product's post: ID, parent, post type, status, and the parent's status (variations).
pub(crate) type PostRow = (u64, u64, String, String, Option<String>);

fn select_posts(posts: &str, filter: &str) -> String {
    format!(
        "SELECT p.ID, p.post_parent, p.post_type, p.post_status, par.post_status
         FROM {posts} p
         LEFT JOIN {posts} par ON par.ID = p.post_parent AND p.post_type = 'product_variation'
         WHERE {filter}"
    )
}

/// The `product_type` term of every product, or of these products only.
fn select_types(tr: &str, tt: &str, terms: &str, filter: &str) -> String {
    format!(
        "SELECT tr.object_id, t.slug FROM {tr} tr
            JOIN {tt} tt ON tt.term_taxonomy_id = tr.term_taxonomy_id AND tt.taxonomy = 'product_type'
            JOIN {terms} t ON t.term_id = tt.term_id
         {filter} ORDER BY tr.object_id, tr.term_taxonomy_id"
    )
}

/// The post whose product type decides: a variation's parent, any other post itself.
fn type_owner(row: &PostRow) -> u64 {
    if row.2 == "product_variation" {
        row.1
    } else {
        row.0
    }
}

/// The product a post is to the sync, if it is one: the type of a variation is its parent's.
pub(crate) fn to_product(row: &PostRow, sku: Option<&str>, types: &HashMap<u64, String>) -> Option<CatalogProduct> {
    product_of(row, types.get(&type_owner(row)).map_or("simple", String::as_str), sku)
}

/// The product a post is, given the product type that decides for it.
fn product_of(row: &PostRow, ptype: &str, sku: Option<&str>) -> Option<CatalogProduct> {
    let (id, parent, post_type, status, parent_status) = row;
    let kind = match post_type.as_str() {
        "product" if status == "publish" && ptype == "simple" => ProductKind::Simple,
        "product" if status == "publish" && ptype == "variable" => ProductKind::Variable,
        "product_variation"
            if (status == "publish" || status == "private")
                && ptype == "variable"
                && parent_status.as_deref() == Some("publish") =>
        {
            ProductKind::Variation
        }
        _ => return None,
    };
    let sku = sku.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let parent_id = if kind == ProductKind::Variation { *parent } else { 0 };
    Some(CatalogProduct { id: *id, parent_id, kind, sku })
}

/// Catalog order: each variable product just before its variations, which the planner relies
/// on to keep a family in one batch.
pub(crate) fn sort_catalog(products: &mut [CatalogProduct]) {
    products.sort_unstable_by_key(|p| match p.kind {
        ProductKind::Variation => (p.parent_id, 1, p.id),
        _ => (p.id, 0, p.id),
    });
}

impl Store {
    /// Reads the product types, first `product_type` term per product.
    pub(crate) async fn product_types<Q: Queryable>(&self, q: &mut Q, ids: Option<&[u64]>) -> Result<HashMap<u64, String>, StoreError> {
        let t = self.tables();
        let mut out = HashMap::new();
        let mut read = |rows: Vec<(u64, String)>| {
            for (id, slug) in rows {
                out.entry(id).or_insert(slug);
            }
        };
        match ids {
            None => read(q.exec(select_types(&t.term_relationships, &t.term_taxonomy, &t.terms, ""), ()).await.ctx("reading product types")?),
            Some(ids) => {
                for chunk in ids.chunks(1024) {
                    let list = padded(chunk);
                    let filter = format!("WHERE tr.object_id IN ({})", placeholders(list.len()));
                    let sql = select_types(&t.term_relationships, &t.term_taxonomy, &t.terms, &filter);
                    read(q.exec(sql, list).await.ctx("reading product types")?);
                }
            }
        }
        Ok(out)
    }

    /// The posts with these ids, products or not, and the product types they need.
    pub(crate) async fn product_posts<Q: Queryable>(&self, q: &mut Q, ids: &[u64]) -> Result<(Vec<PostRow>, HashMap<u64, String>), StoreError> {
        let mut rows: Vec<PostRow> = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(1024) {
            let list = padded(chunk);
            let sql = select_posts(&self.tables().posts, &format!("p.ID IN ({})", placeholders(list.len())));
            let part: Vec<PostRow> = q.exec(sql, Params::Positional(list.into_iter().map(Value::from).collect())).await.ctx("reading a batch's products")?;
            rows.extend(part);
        }
        let mut owners: Vec<u64> = rows.iter().map(type_owner).collect();
        owners.sort_unstable();
        owners.dedup();
        let types = self.product_types(q, Some(&owners)).await?;
        Ok((rows, types))
    }

    /// The whole catalog, in catalog order. Three plain reads joined here (posts, types, SKUs)
    /// cost the server a fraction of one query with a subquery per product.
    pub async fn read_catalog(&self) -> Result<Vec<CatalogProduct>, StoreError> {
        let t = self.tables();
        let mut conn = self.conn().await?;
        // Only simple and variable matter; every other type is kept as "other" without its name.
        let types: HashMap<u64, &'static str> = self
            .product_types(&mut conn, None)
            .await?
            .into_iter()
            .map(|(id, slug)| (id, match slug.as_str() { "simple" => "simple", "variable" => "variable", _ => "other" }))
            .collect();
        // Each post becomes its compact product as it streams in: a large catalog is never held
        // as rows of strings.
        let sql = select_posts(
            &t.posts,
            "(p.post_type = 'product' AND p.post_status = 'publish')
             OR (p.post_type = 'product_variation' AND p.post_status IN ('publish', 'private'))",
        );
        let mut out: Vec<CatalogProduct> = Vec::new();
        let mut stream = conn.exec_stream::<PostRow, _, _>(sql, ()).await.ctx("reading the catalog")?;
        while let Some(row) = stream.try_next().await.ctx("reading the catalog")? {
            out.extend(product_of(&row, types.get(&type_owner(&row)).copied().unwrap_or("simple"), None));
        }
        drop(stream);
        // The first `_sku` row by meta_id, as WordPress's single reads see it.
        let index: HashMap<u64, usize> = out.iter().enumerate().map(|(i, p)| (p.id, i)).collect();
        let mut first: Vec<u64> = vec![u64::MAX; out.len()];
        let sql = format!("SELECT post_id, meta_id, meta_value FROM {} WHERE meta_key = '_sku'", t.postmeta);
        let mut stream = conn.exec_stream::<(u64, u64, Option<Vec<u8>>), _, _>(sql, ()).await.ctx("reading SKUs")?;
        while let Some((post_id, meta_id, value)) = stream.try_next().await.ctx("reading SKUs")? {
            let Some(&i) = index.get(&post_id) else { continue };
            if meta_id < first[i] {
                first[i] = meta_id;
                let sku = value.map(|v| String::from_utf8_lossy(&v).trim().to_owned()).unwrap_or_default();
                out[i].sku = Some(sku).filter(|s| !s.is_empty());
            }
        }
        drop(stream);
        sort_catalog(&mut out);
        Ok(out)
    }

    /// Products whose SKU (or `WC-<id>` alias) is one of these, for a selective sync. SKUs are
    /// found through WooCommerce's indexed lookup table; the caller checks them against `_sku`
    /// and asks [`Store::find_ids_by_sku_meta`] for any the lookup table missed.
    pub async fn find_ids_by_keys(&self, keys: &[String]) -> Result<Vec<u64>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut ids: Vec<u64> = keys.iter().filter_map(|k| k.strip_prefix("WC-")).filter_map(|s| s.parse().ok()).collect();
        let mut conn = self.conn().await?;
        let list = padded(keys);
        let sql = format!("SELECT product_id FROM {} WHERE sku IN ({})", self.tables().lookup, placeholders(list.len()));
        let by_sku: Vec<u64> = conn.exec(sql, list).await.ctx("finding products by SKU")?;
        ids.extend(by_sku);
        ids.sort_unstable();
        ids.dedup();
        Ok(ids)
    }

    /// Products by their `_sku` rows: a scan of every SKU, for the rare key the lookup table
    /// does not know (a stale or missing lookup row).
    pub async fn find_ids_by_sku_meta(&self, keys: &[String]) -> Result<Vec<u64>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.conn().await?;
        let sql = format!(
            "SELECT DISTINCT post_id FROM {} WHERE meta_key = '_sku' AND meta_value IN ({})",
            self.tables().postmeta,
            placeholders(keys.len())
        );
        conn.exec(sql, keys.to_vec()).await.ctx("finding products by SKU")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_sku_then_alias() {
        let p = CatalogProduct { id: 7, parent_id: 0, kind: ProductKind::Simple, sku: Some("A'1 🦔".into()) };
        assert_eq!(p.keys(), vec!["A'1 🦔".to_owned(), "WC-7".to_owned()]);
        let p = CatalogProduct { sku: None, ..p };
        assert_eq!(p.keys(), vec!["WC-7".to_owned()]);
    }

    #[test]
    fn only_sellable_kinds_are_kept() {
        let row = |t: &str, s: &str, ty: Option<&str>, ps: Option<&str>| {
            let types: HashMap<u64, String> = ty.map(|ty| [(5, ty.to_owned()), (4, ty.to_owned())].into()).unwrap_or_default();
            to_product(&(5, 4, t.into(), s.into(), ps.map(Into::into)), Some(" X "), &types)
        };
        assert_eq!(row("product", "publish", None, None).map(|p| p.kind), Some(ProductKind::Simple));
        assert_eq!(row("product", "publish", None, None).and_then(|p| p.sku), Some("X".into()));
        assert_eq!(row("product", "draft", None, None), None);
        assert_eq!(row("product", "publish", Some("grouped"), None), None);
        assert_eq!(row("product_variation", "private", Some("variable"), Some("publish")).map(|p| p.parent_id), Some(4));
        assert_eq!(row("product_variation", "publish", Some("variable"), Some("draft")), None);
    }

    #[test]
    fn families_stay_together_in_catalog_order() {
        let p = |id, parent_id, kind| CatalogProduct { id, parent_id, kind, sku: None };
        let mut c = vec![p(12, 10, ProductKind::Variation), p(11, 0, ProductKind::Simple), p(10, 0, ProductKind::Variable), p(3, 10, ProductKind::Variation)];
        sort_catalog(&mut c);
        let ids: Vec<u64> = c.iter().map(|p| p.id).collect();
        assert_eq!(ids, vec![10, 3, 12, 11]);
    }
}
