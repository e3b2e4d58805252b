namespace Berth.Node.Tests.Kubelet.Logs;

// A source that hands out exactly one given chunk per read, so a test controls how a pump batches.
internal sealed class ChunkStream(IEnumerable<byte[]> chunks) : Stream
{
    private readonly IEnumerator<byte[]> _chunks = chunks.GetEnumerator();

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count)
    {
        if (!_chunks.MoveNext())
        {
            return 0;
        }
        var chunk = _chunks.Current;
        Assert.True(chunk.Length <= count, "chunk larger than the pump's read buffer");
        chunk.CopyTo(buffer, offset);
        return chunk.Length;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
