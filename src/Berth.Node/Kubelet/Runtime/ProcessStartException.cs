namespace Berth.Node.Kubelet.Runtime;

/// <summary>A container process could not be started; the message says why, in runc's words where runc has them.</summary>
public sealed class ProcessStartException : Exception
{
    public ProcessStartException()
    {
    }

    public ProcessStartException(string message)
        : base(message)
    {
    }

    public ProcessStartException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
