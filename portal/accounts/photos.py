"""Profile photos: checked by their content and kept in private storage like claim documents; only the
app serves them, to their owner."""

from django.utils.translation import gettext_noop

from portal.core.private_files import PrivateFileKind

PROFILE_PHOTO = PrivateFileKind(
    folder="profile-photos",
    allowed_types={"image/jpeg": {".jpg", ".jpeg"}, "image/png": {".png"}, "image/webp": {".webp"}},
    max_bytes_setting="AMPARO_PROFILE_PHOTO_MAX_BYTES",
    too_large=gettext_noop("The photo %(name)s is %(size)s; the most a profile photo may be is %(max)s."),
    program=gettext_noop("%(name)s is a program; only a photo can be a profile photo."),
    wrong_kind=gettext_noop("%(name)s is not a JPEG, PNG or WebP photo."),
)


def profile_photo_storage():
    return PROFILE_PHOTO.storage()
