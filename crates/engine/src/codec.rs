//! How the small in-memory tables a stage registers travel with a plan to a Ballista cluster.

use std::io::Cursor;
use std::sync::Arc;

use arrow::ipc::reader::StreamReader;
use arrow::ipc::writer::StreamWriter;
use ballista_core::serde::BallistaLogicalExtensionCodec;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::TableProvider;
use datafusion::common::TableReference;
use datafusion::datasource::MemTable;
use datafusion::datasource::file_format::FileFormatFactory;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{Extension, LogicalPlan};
use datafusion_proto::logical_plan::LogicalExtensionCodec;

/// The first byte of a table this codec wrote, so that a buffer of another codec is never read as one.
const MEMORY_TABLE: u8 = 0x4d;

/// Ballista's logical codec, which also carries in-memory tables (DataFusion's `MemTable`: the meter mapping, the
/// registry and the events) as an Arrow IPC stream inside the plan. DataFusion's own codec carries Parquet listings
/// but no in-memory table. The client, the scheduler and the executors must all use it (`cluster` does).
#[derive(Debug, Default)]
pub struct TableCodec {
    ballista: BallistaLogicalExtensionCodec,
}

impl LogicalExtensionCodec for TableCodec {
    fn try_decode(&self, buf: &[u8], inputs: &[LogicalPlan], ctx: &TaskContext) -> Result<Extension> {
        self.ballista.try_decode(buf, inputs, ctx)
    }

    fn try_encode(&self, node: &Extension, buf: &mut Vec<u8>) -> Result<()> {
        self.ballista.try_encode(node, buf)
    }

    fn try_decode_table_provider(&self, buf: &[u8], table_ref: &TableReference, schema: SchemaRef, ctx: &TaskContext) -> Result<Arc<dyn TableProvider>> {
        let Some((&MEMORY_TABLE, ipc)) = buf.split_first() else { return self.ballista.try_decode_table_provider(buf, table_ref, schema, ctx) };
        let reader = StreamReader::try_new(Cursor::new(ipc), None)?;
        let batches = reader.collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(Arc::new(MemTable::try_new(schema, vec![batches])?))
    }

    fn try_encode_table_provider(&self, table_ref: &TableReference, node: Arc<dyn TableProvider>, buf: &mut Vec<u8>) -> Result<()> {
        let Some(table) = node.downcast_ref::<MemTable>() else { return self.ballista.try_encode_table_provider(table_ref, node, buf) };
        // A MemTable's partitions are behind async locks; planning is synchronous here, and nothing writes to these
        // tables once registered, so a failed try-lock means a bug elsewhere, reported rather than waited on.
        buf.push(MEMORY_TABLE);
        let mut w = StreamWriter::try_new(&mut *buf, &table.schema())?;
        for partition in &table.batches {
            let batches = partition.try_read().map_err(|_| DataFusionError::Internal(format!("table {table_ref} is being written while a plan is encoded")))?;
            for b in batches.iter() {
                w.write(b)?;
            }
        }
        w.finish()?;
        Ok(())
    }

    fn try_decode_file_format(&self, buf: &[u8], ctx: &TaskContext) -> Result<Arc<dyn FileFormatFactory>> {
        self.ballista.try_decode_file_format(buf, ctx)
    }

    fn try_encode_file_format(&self, buf: &mut Vec<u8>, node: Arc<dyn FileFormatFactory>) -> Result<()> {
        self.ballista.try_encode_file_format(buf, node)
    }
}
