"""WhatsApp through Twilio: the same Messaging webhook as SMS (`POST
/sms/twilio`, `From=whatsapp:+...`, signed the same way) and the same REST
client, with the WhatsApp sender of TWILIO_WHATSAPP_FROM.

What differs from SMS:
- replies are not planned into segments: one message holds up to 1,600
  characters (Twilio's limit on a message's Body; WhatsApp itself takes 4,096,
  which is what she may send us), a longer reply is split at line or word ends;
- WhatsApp lets a business write only within 24 hours of her last message, and
  outside it only approved templates, which Helpline never uses: the
  capability's `reply_window_hours` keeps counsellors inside it
  (handoff.queue.HandoffQueue.window_s).
"""

from __future__ import annotations

from bot.channels import CAPABILITIES
from bot.channels.sms import SmsChannel
from bot.text.segments import split

PREFIX = "whatsapp:"
MAX_BODY = 1600  # characters in one message's Body (Twilio error 21658 beyond)


class WhatsAppChannel(SmsChannel):
    name = "whatsapp"
    capabilities = CAPABILITIES["whatsapp"]
    sender_variable = "TWILIO_WHATSAPP_FROM"

    def owns(self, address: str) -> bool:
        return address.startswith(PREFIX) and len(address) > len(PREFIX)

    def parts(self, text: str) -> list[str]:
        return split(text.strip(), _fits)


def _fits(part: str) -> bool:
    return len(part.encode("utf-16-le")) // 2 <= MAX_BODY  # Twilio counts UTF-16 units
