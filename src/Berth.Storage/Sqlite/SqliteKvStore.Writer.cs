using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;

namespace Berth.Storage.Sqlite;

// The writer thread: group commit of queued writes, then publication to watchers.
internal sealed partial class SqliteKvStore
{
    private SqliteCommand _begin = null!;
    private SqliteCommand _commit = null!;
    private SqliteCommand _rollback = null!;
    private SqliteCommand _selectKv = null!;
    private SqliteCommand _insertKv = null!;
    private SqliteCommand _updateKv = null!;
    private SqliteCommand _deleteKv = null!;
    private SqliteCommand _insertLog = null!;
    private SqliteCommand _setRevision = null!;
    private SqliteCommand _compactLog = null!;
    private SqliteCommand _setCompacted = null!;

    private void PrepareWriterCommands()
    {
        _begin = Command("BEGIN IMMEDIATE");
        _commit = Command("COMMIT");
        _rollback = Command("ROLLBACK");
        _selectKv = Command("SELECT value, create_rev, mod_rev FROM kv WHERE key = $key", "$key");
        _insertKv = Command("INSERT INTO kv (key, value, create_rev, mod_rev) VALUES ($key, $value, $rev, $rev)", "$key", "$value", "$rev");
        _updateKv = Command("UPDATE kv SET value = $value, mod_rev = $rev WHERE key = $key", "$key", "$value", "$rev");
        _deleteKv = Command("DELETE FROM kv WHERE key = $key", "$key");
        _insertLog = Command(
            "INSERT INTO log (rev, key, kind, create_rev, value, prev_value) VALUES ($rev, $key, $kind, $create, $value, $prev)",
            "$rev", "$key", "$kind", "$create", "$value", "$prev");
        _setRevision = Command("UPDATE meta SET current_rev = $rev WHERE id = 1", "$rev");
        _compactLog = Command("DELETE FROM log WHERE rev <= $rev", "$rev");
        _setCompacted = Command("UPDATE meta SET compacted_rev = $rev WHERE id = 1", "$rev");
    }

    private void DisposeWriterCommands()
    {
        foreach (SqliteCommand command in (SqliteCommand[])[_begin, _commit, _rollback, _selectKv, _insertKv, _updateKv, _deleteKv, _insertLog, _setRevision, _compactLog, _setCompacted])
        {
            command.Dispose();
        }
    }

    private SqliteCommand Command(string sql, params string[] parameters)
    {
        SqliteCommand command = _writer.CreateCommand();
        command.CommandText = sql;
        foreach (string name in parameters)
        {
            command.Parameters.Add(new SqliteParameter { ParameterName = name });
        }

        return command;
    }

    private void WriterLoop()
    {
        List<WriteOp> batch = new(_options.MaxBatchSize);
        List<WatchEvent> events = [];
        try
        {
            // Blocks until a write arrives; returns false once disposal completed the queue and it is empty.
            while (_queue.TryTake(out WriteOp? first, Timeout.Infinite))
            {
                batch.Clear();
                if (first.TryTake())
                {
                    batch.Add(first);
                }

                // Everything that queued while the previous batch was committing goes into this one.
                while (batch.Count < _options.MaxBatchSize && _queue.TryTake(out WriteOp? next))
                {
                    if (next.TryTake())
                    {
                        batch.Add(next);
                    }
                }

                if (batch.Count > 0)
                {
                    CommitBatch(batch, events);
                }
            }
        }
        finally
        {
            _writerDone.TrySetResult();
        }
    }

    private void CommitBatch(List<WriteOp> batch, List<WatchEvent> events)
    {
        long revision = _revision;
        long compacted = _compactedRevision;
        events.Clear();
        // Per-op outcome: a revision, or the typed error for that op alone (a conflict does not abort the batch).
        Span<long> results = batch.Count <= 128 ? stackalloc long[batch.Count] : new long[batch.Count];
        Exception?[] errors = new Exception?[batch.Count];
        try
        {
            _begin.ExecuteNonQuery();
            for (int i = 0; i < batch.Count; i++)
            {
                WriteOp op = batch[i];
                switch (op.Kind)
                {
                    case WriteKind.Compact:
                        long target = Math.Min(op.Revision, revision);
                        if (target > compacted)
                        {
                            Run(_compactLog, target);
                            Run(_setCompacted, target);
                            compacted = target;
                        }

                        results[i] = compacted;
                        break;
                    default:
                        StoreItem? current = SelectCurrent(op.Key);
                        errors[i] = Check(op, current);
                        if (errors[i] is null)
                        {
                            revision++;
                            events.Add(Apply(op, current, revision));
                            results[i] = revision;
                        }

                        break;
                }
            }

            if (revision != _revision)
            {
                Run(_setRevision, revision);
            }

            _commit.ExecuteNonQuery();
        }
        catch (Exception ex)
        {
            try
            {
                _rollback.ExecuteNonQuery();
            }
            catch (SqliteException)
            {
                // No transaction left to roll back (SQLite already did on some errors).
            }

            foreach (WriteOp op in batch)
            {
                op.Registration.Dispose();
                op.TrySetException(ex);
            }

            return;
        }

        Volatile.Write(ref _compactedRevision, compacted);
        try
        {
            if (revision != _revision)
            {
                Volatile.Write(ref _revision, revision);
                // Before acknowledging, so a writer that starts watching after its write returned sees it live.
                _broadcaster.Publish(events, revision);
            }
        }
        finally
        {
            // The batch is committed: acknowledge it whatever happened after the commit.
            for (int i = 0; i < batch.Count; i++)
            {
                WriteOp op = batch[i];
                op.Registration.Dispose();
                if (errors[i] is { } error)
                {
                    op.TrySetException(error);
                }
                else
                {
                    op.TrySetResult(results[i]);
                }
            }
        }
    }

    private StoreItem? SelectCurrent(string key)
    {
        _selectKv.Parameters[0].Value = key;
        using SqliteDataReader reader = _selectKv.ExecuteReader();
        return reader.Read()
            ? new StoreItem(key, reader.GetFieldValue<byte[]>(0), reader.GetInt64(1), reader.GetInt64(2))
            : null;
    }

    private static StoreException? Check(WriteOp op, StoreItem? current)
    {
        if (op.Kind == WriteKind.Create)
        {
            return current is null ? null : new KeyExistsException(op.Key);
        }

        if (current is null)
        {
            return new StoreKeyNotFoundException(op.Key);
        }

        return op.Revision != 0 && op.Revision != current.ModRevision
            ? new ConflictException(op.Key, op.Revision, current)
            : null;
    }

    private WatchEvent Apply(WriteOp op, StoreItem? current, long revision)
    {
        SqliteParameterCollection log = _insertLog.Parameters;
        log[0].Value = revision;
        log[1].Value = op.Key;
        switch (op.Kind)
        {
            case WriteKind.Create:
                Run(_insertKv, op.Key, op.Value!, revision);
                log[2].Value = SqliteSchema.KindPut;
                log[3].Value = revision;
                log[4].Value = op.Value;
                log[5].Value = DBNull.Value;
                _insertLog.ExecuteNonQuery();
                return new WatchEvent(WatchEventType.Put, op.Key, op.Value, ReadOnlyMemory<byte>.Empty, revision, revision);
            case WriteKind.Update:
                Run(_updateKv, op.Key, op.Value!, revision);
                log[2].Value = SqliteSchema.KindPut;
                log[3].Value = current!.CreateRevision;
                log[4].Value = op.Value;
                log[5].Value = AsArray(current.Value);
                _insertLog.ExecuteNonQuery();
                return new WatchEvent(WatchEventType.Put, op.Key, op.Value, current.Value, current.CreateRevision, revision);
            default:
                Run(_deleteKv, op.Key);
                log[2].Value = SqliteSchema.KindDelete;
                log[3].Value = current!.CreateRevision;
                log[4].Value = DBNull.Value;
                log[5].Value = AsArray(current.Value);
                _insertLog.ExecuteNonQuery();
                return new WatchEvent(WatchEventType.Delete, op.Key, current.Value, current.Value, current.CreateRevision, revision);
        }
    }

    // Values read from SQLite are whole arrays; binding them back needs no copy.
    private static byte[] AsArray(ReadOnlyMemory<byte> value) =>
        MemoryMarshal.TryGetArray(value, out ArraySegment<byte> segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : value.ToArray();

    private static void Run(SqliteCommand command, params ReadOnlySpan<object> values)
    {
        for (int i = 0; i < values.Length; i++)
        {
            command.Parameters[i].Value = values[i];
        }

        command.ExecuteNonQuery();
    }
}
