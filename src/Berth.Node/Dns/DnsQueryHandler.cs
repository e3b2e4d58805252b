using System.Net;
using Berth.Node.Dns.Cluster;
using Berth.Node.Dns.Forwarding;
using Berth.Node.Dns.Wire;

namespace Berth.Node.Dns;

/// <summary>What <see cref="DnsQueryHandler.Handle"/> did with a packet.</summary>
public enum DnsHandling
{
    /// <summary>The response is in the buffer: send it.</summary>
    Answered,

    /// <summary>Nothing to send (not a query, or too short to answer).</summary>
    Dropped,

    /// <summary>It must go upstream (a cache miss, or an autopath walk): call <see cref="DnsQueryHandler.HandleAsync"/> off the receive thread.</summary>
    Pending,
}

/// <summary>
/// The query pipeline, transport-agnostic: parse → refuse what is never served → SERVFAIL until the informers have
/// synced → the cluster zone → autopath → the forwarder's cache → upstream. <see cref="Handle"/> is the receive
/// thread's synchronous path and allocates nothing for cluster names and cache hits; <see cref="HandleAsync"/> does
/// what must wait for an upstream.
/// </summary>
public sealed class DnsQueryHandler
{
    /// <summary>The largest message over TCP (the 2-byte length prefix).</summary>
    public const int MaxTcpMessage = 65535;

    private const ushort ClassIn = 1;

    private readonly Func<ZoneSnapshot?> _zone;
    private readonly DnsForwarder _forwarder;
    private readonly string _domain;
    private readonly string _serviceSuffix;
    private readonly string[] _searchAfterNamespace;
    private readonly long[] _answers = new long[16];
    private long _queries;
    private long _dropped;
    private long _forwarded;
    private long _cacheHits;
    private long _autopathHits;

    /// <param name="zone">The current snapshot; null until the informers have synced (answers SERVFAIL).</param>
    /// <param name="clusterDomain">Lower case, no trailing dot.</param>
    /// <param name="hostSearches">The host's resolv.conf search list: what the kubelet appends to a pod's, so autopath walks it too.</param>
    public DnsQueryHandler(Func<ZoneSnapshot?> zone, DnsForwarder forwarder, string clusterDomain, IReadOnlyList<string> hostSearches)
    {
        _zone = zone;
        _forwarder = forwarder;
        _domain = clusterDomain.TrimEnd('.').ToLowerInvariant();
        _serviceSuffix = ".svc." + _domain;
        // A pod's search path is <ns>.svc.<zone> svc.<zone> <zone> + the host's (kubelet dns.go); the query carries
        // the first, autopath tries the rest (CoreDNS plugin/kubernetes/autopath.go).
        _searchAfterNamespace = ["svc." + _domain, _domain, .. hostSearches.Select(s => s.TrimEnd('.').ToLowerInvariant()).Where(s => s.Length > 0), ""];
    }

    public long Queries => Interlocked.Read(ref _queries);

    /// <summary>Packets nothing was sent back for (responses, runts, overload).</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Questions that waited for an upstream (cache misses; every step of an autopath walk that left the zone).</summary>
    public long Forwarded => Interlocked.Read(ref _forwarded);

    /// <summary>Forwarded names answered from the forwarder's cache on the receive thread.</summary>
    public long CacheHits => Interlocked.Read(ref _cacheHits);

    /// <summary>Autopath walks that found an answer (the pod was spared its own search).</summary>
    public long AutopathHits => Interlocked.Read(ref _autopathHits);

    /// <summary>Responses sent with this rcode (the 4 header bits).</summary>
    public long Answers(DnsRcode rcode) => (ushort)rcode < _answers.Length ? Interlocked.Read(ref _answers[(ushort)rcode]) : 0;

    /// <summary>For the server: a packet it had to drop (too much pending work).</summary>
    internal void CountDropped() => Interlocked.Increment(ref _dropped);

    /// <summary>
    /// Answers <paramref name="packet"/> into <paramref name="response"/> when that needs no upstream. Never throws
    /// for a malformed packet. <paramref name="tcp"/>: the answer may use 64 KiB, else the client's UDP payload size
    /// bounds it (TC set past it).
    /// </summary>
    public DnsHandling Handle(ReadOnlySpan<byte> packet, bool tcp, Span<byte> response, out int written)
    {
        Interlocked.Increment(ref _queries);
        return Core(packet, tcp, response, out written, out _, planAsync: false);
    }

    /// <summary>
    /// Answers a packet <see cref="Handle"/> returned <see cref="DnsHandling.Pending"/> for; returns the response
    /// length (0: send nothing). <paramref name="client"/> is the querier's address (autopath checks it against the
    /// pods it knows).
    /// </summary>
    public async ValueTask<int> HandleAsync(ReadOnlyMemory<byte> packet, IPAddress? client, bool tcp, Memory<byte> response, CancellationToken ct)
    {
        DnsHandling handling = Core(packet.Span, tcp, response.Span, out int written, out AsyncPlan? plan, planAsync: true);
        if (handling != DnsHandling.Pending)
        {
            return handling == DnsHandling.Answered ? written : 0;
        }
        written = plan!.Autopath is not null ? await AutopathAsync(plan, packet, client, response, ct)
            : plan.CnameTarget is not null ? await ChaseCnameAsync(plan, packet, response, ct)
            : await ForwardAsync(plan, packet, response, ct);
        Count(response.Span[..written]);
        return written;
    }

    private DnsHandling Core(ReadOnlySpan<byte> packet, bool tcp, Span<byte> response, out int written, out AsyncPlan? plan, bool planAsync)
    {
        written = 0;
        Span<char> nameBuffer = stackalloc char[DnsRequest.MaxNameChars];
        DnsParseResult parsed = DnsRequest.TryParse(packet, nameBuffer, out DnsRequest request);
        plan = null;
        DnsRcode? error;
        switch (parsed)
        {
            case DnsParseResult.Ok:
                error = null;
                break;
            case DnsParseResult.FormErr:
                error = DnsRcode.FormErr;
                break;
            case DnsParseResult.NotImp:
                error = DnsRcode.NotImp;
                break;
            case DnsParseResult.BadVersion:
                error = DnsRcode.BadVers;
                break;
            default:
                Interlocked.Increment(ref _dropped);
                return DnsHandling.Dropped;
        }
        if (error is null)
        {
            // Only class IN is served or forwarded (a CHAOS version.bind would otherwise reach the host's resolver);
            // zone transfers are not offered (RFC 5936 and CoreDNS without its transfer plugin: REFUSED).
            if (request.Class != ClassIn || request.Type is DnsType.AXFR or DnsType.IXFR)
            {
                error = DnsRcode.Refused;
            }
        }
        ZoneSnapshot? zone = error is null ? _zone() : null;
        if (error is null && zone is null)
        {
            // Not synced yet: an empty zone would answer NXDOMAIN for names that exist (CoreDNS plugin/kubernetes handler.go).
            error = DnsRcode.ServFail;
        }
        if (error is DnsRcode rcode)
        {
            written = DnsResponseWriter.WriteError(packet, request, rcode, response);
            return Answered(response, written);
        }

        int maxSize = tcp ? MaxTcpMessage : request.UdpPayloadSize;
        if (zone!.TryAnswer(request.Name, request.Type, out DnsAnswer? answer))
        {
            if (OutOfZoneCnameTarget(answer, request.Type) is { } target)
            {
                // An ExternalName pointing outside the cluster: resolve the target upstream and append it, as CoreDNS's
                // kubernetes plugin does, so a stub resolver (which never chases CNAMEs itself) gets an address.
                if (planAsync)
                {
                    plan = new AsyncPlan(request, maxSize, null) { ZoneAnswer = answer, CnameTarget = target };
                }
                return DnsHandling.Pending;
            }
            if (answer.Rcode != DnsRcode.NXDomain || !IsAutopathCandidate(request.Name, out int baseLength, out int namespaceLength))
            {
                written = DnsResponseWriter.Write(request, answer, response, maxSize);
                return Answered(response, written);
            }
            if (planAsync)
            {
                string name = request.Name.ToString();
                plan = new AsyncPlan(request, maxSize, name)
                {
                    Autopath = name[..baseLength],
                    Namespace = name.Substring(baseLength + 1, namespaceLength),
                    ZoneAnswer = answer,
                };
            }
            return DnsHandling.Pending;
        }

        written = _forwarder.TryWriteCached(request, response, maxSize);
        if (written > 0)
        {
            Interlocked.Increment(ref _cacheHits);
            return Answered(response, written);
        }
        if (planAsync)
        {
            plan = new AsyncPlan(request, maxSize, null) { Forward = ForwardQuestion.From(request) };
        }
        return DnsHandling.Pending;
    }

    /// <summary>
    /// The target of a zone answer that ends in a CNAME leaving the cluster zone (an ExternalName), when the question
    /// asks for something else than the CNAME itself; null otherwise (no allocation then).
    /// </summary>
    private string? OutOfZoneCnameTarget(DnsAnswer answer, DnsType type)
    {
        if (answer.Rcode != DnsRcode.NoError || type is DnsType.CNAME || answer.Answers.Count == 0 || answer.Answers[^1].Type != DnsType.CNAME)
        {
            return null;
        }
        string target = DnsRdata.Name(answer.Answers[^1]).TrimEnd('.').ToLowerInvariant();
        bool inZone = target == _domain || target.EndsWith("." + _domain, StringComparison.Ordinal);
        return inZone || target.Length == 0 ? null : target;
    }

    /// <summary>The zone's CNAME chain, then what the upstream answers for its target (nothing more when that fails).</summary>
    private async ValueTask<int> ChaseCnameAsync(AsyncPlan plan, ReadOnlyMemory<byte> packet, Memory<byte> response, CancellationToken ct)
    {
        DnsAnswer answer = plan.ZoneAnswer!;
        if (ForwardQuestion.TryCreate(plan.CnameTarget!, plan.Type, plan.Client.DnssecOk, plan.Client.CheckingDisabled, out ForwardQuestion? question))
        {
            Interlocked.Increment(ref _forwarded);
            (UpstreamResponse? upstream, TimeSpan age) = await _forwarder.ResolveAsync(question!, ct);
            if (upstream?.Rcode == DnsRcode.NoError && Decode(upstream, age) is { } found)
            {
                answer = new DnsAnswer(DnsRcode.NoError, [.. answer.Answers, .. found.Answers], answer.Authority, found.Additional, authoritative: false);
            }
        }
        return WriteAnswer(packet.Span, answer, response.Span, plan.MaxSize);
    }

    /// <summary>"Q.ns.svc.zone" with a non-empty Q and a one-label ns: the first search domain of a pod in ns.</summary>
    private bool IsAutopathCandidate(ReadOnlySpan<char> name, out int baseLength, out int namespaceLength)
    {
        baseLength = namespaceLength = 0;
        if (!name.EndsWith(_serviceSuffix, StringComparison.Ordinal) || name.Contains('\\'))
        {
            return false;
        }
        ReadOnlySpan<char> prefix = name[..^_serviceSuffix.Length];
        int dot = prefix.LastIndexOf('.');
        baseLength = dot;
        namespaceLength = prefix.Length - dot - 1;
        return dot > 0 && namespaceLength > 0;
    }

    private async ValueTask<int> ForwardAsync(AsyncPlan plan, ReadOnlyMemory<byte> packet, Memory<byte> response, CancellationToken ct)
    {
        Interlocked.Increment(ref _forwarded);
        (UpstreamResponse? upstream, TimeSpan age) = await _forwarder.ResolveAsync(plan.Forward!, ct);
        if (upstream is null)
        {
            return WriteError(packet.Span, DnsRcode.ServFail, response.Span);
        }
        int written = upstream.WriteReply(plan.Client, packet.Span.Slice(12, plan.QuestionLength), age, response.Span, plan.MaxSize);
        return written > 0 ? written : WriteError(packet.Span, DnsRcode.ServFail, response.Span);
    }

    /// <summary>
    /// CoreDNS plugin/autopath/autopath.go: walk the rest of the pod's search path for "Q" ourselves; the first
    /// NOERROR (with answers or NODATA) is the reply for the original name, with a CNAME from it to the name that
    /// answered in front (cnamer); NXDOMAIN, SERVFAIL and the like move on. Nothing found: the original NXDOMAIN,
    /// and the client walks its search path as it would have.
    /// </summary>
    private async ValueTask<int> AutopathAsync(AsyncPlan plan, ReadOnlyMemory<byte> packet, IPAddress? client, Memory<byte> response, CancellationToken ct)
    {
        ZoneSnapshot? zone = _zone();
        if (zone is null)
        {
            return WriteError(packet.Span, DnsRcode.ServFail, response.Span);
        }
        // A known pod's namespace must be the one in the name (else this is not its search path); an address we do not
        // know as a pod's (every pod's queries come from 127.0.0.1 in loopback mode) trusts the name.
        string? podNamespace = client is null ? null : zone.PodNamespace(client);
        if (podNamespace is null || podNamespace == plan.Namespace)
        {
            foreach (string search in _searchAfterNamespace)
            {
                string candidate = search.Length == 0 ? plan.Autopath! : plan.Autopath + "." + search;
                DnsAnswer? found = null;
                if (zone.TryAnswer(candidate, plan.Type, out DnsAnswer? answer))
                {
                    found = answer.Rcode == DnsRcode.NoError ? answer : null;
                }
                else if (ForwardQuestion.TryCreate(candidate, plan.Type, plan.Client.DnssecOk, plan.Client.CheckingDisabled, out ForwardQuestion? question))
                {
                    Interlocked.Increment(ref _forwarded);
                    (UpstreamResponse? upstream, TimeSpan age) = await _forwarder.ResolveAsync(question!, ct);
                    found = upstream?.Rcode == DnsRcode.NoError ? Decode(upstream, age) : null;
                }
                if (found is not null)
                {
                    Interlocked.Increment(ref _autopathHits);
                    return WriteAnswer(packet.Span, Cnamed(plan.Name!, found), response.Span, plan.MaxSize);
                }
            }
        }
        return WriteAnswer(packet.Span, plan.ZoneAnswer!, response.Span, plan.MaxSize);
    }

    /// <summary>The upstream's records with their TTLs aged, as records the response writer can put under another question.</summary>
    private static DnsAnswer? Decode(UpstreamResponse upstream, TimeSpan age)
    {
        var aged = new byte[upstream.Message.Length];
        int length = upstream.WriteReply(default, upstream.Message.AsSpan(12, upstream.QuestionLength), age, aged, aged.Length);
        if (!DnsMessage.TryParse(aged.AsSpan(0, length), out DnsMessage? message) || message is null)
        {
            return null;
        }
        return new DnsAnswer(DnsRcode.NoError, message.Answers, message.Authority, message.Additional, authoritative: false);
    }

    /// <summary>CoreDNS autopath cnamer: the first answer's owner gets a CNAME from the original name, with its TTL.</summary>
    private static DnsAnswer Cnamed(string original, DnsAnswer found)
    {
        if (found.Answers.Count == 0)
        {
            return new DnsAnswer(DnsRcode.NoError, [], found.Authority, found.Additional, found.Authoritative);
        }
        DnsRecord first = found.Answers[0];
        DnsRecord cname = DnsRecord.Cname(original, first.Name, first.Ttl);
        return new DnsAnswer(DnsRcode.NoError, [cname, .. found.Answers], found.Authority, found.Additional, found.Authoritative);
    }

    private static int WriteAnswer(ReadOnlySpan<byte> packet, DnsAnswer answer, Span<byte> response, int maxSize)
    {
        Span<char> nameBuffer = stackalloc char[DnsRequest.MaxNameChars];
        return DnsRequest.TryParse(packet, nameBuffer, out DnsRequest request) == DnsParseResult.Ok
            ? DnsResponseWriter.Write(request, answer, response, maxSize)
            : 0;
    }

    private static int WriteError(ReadOnlySpan<byte> packet, DnsRcode rcode, Span<byte> response)
    {
        Span<char> nameBuffer = stackalloc char[DnsRequest.MaxNameChars];
        DnsRequest.TryParse(packet, nameBuffer, out DnsRequest request);
        return DnsResponseWriter.WriteError(packet, request, rcode, response);
    }

    private DnsHandling Answered(ReadOnlySpan<byte> response, int written)
    {
        if (written <= 0)
        {
            Interlocked.Increment(ref _dropped);
            return DnsHandling.Dropped;
        }
        Count(response[..written]);
        return DnsHandling.Answered;
    }

    private void Count(ReadOnlySpan<byte> response)
    {
        if (response.Length >= 4)
        {
            Interlocked.Increment(ref _answers[response[3] & 0x0F]);
        }
    }

    /// <summary>What the asynchronous path needs once the packet's parse (a ref struct) is gone.</summary>
    private sealed class AsyncPlan(in DnsRequest request, int maxSize, string? name)
    {
        public ForwardClient Client { get; } = ForwardClient.From(request);

        public DnsType Type { get; } = request.Type;

        public int QuestionLength { get; } = request.QuestionBytes.Length;

        public int MaxSize { get; } = maxSize;

        /// <summary>The lower-cased question name (autopath only).</summary>
        public string? Name { get; } = name;

        public ForwardQuestion? Forward { get; init; }

        /// <summary>"Q" of "Q.ns.svc.zone" when autopath walks it.</summary>
        public string? Autopath { get; init; }

        public string? Namespace { get; init; }

        /// <summary>The zone's NXDOMAIN for the original name, the reply when the walk finds nothing; or the CNAME chain to chase.</summary>
        public DnsAnswer? ZoneAnswer { get; init; }

        /// <summary>An ExternalName's out-of-zone target, resolved upstream and appended.</summary>
        public string? CnameTarget { get; init; }
    }
}
