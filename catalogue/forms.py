from django import forms

from .services.bulk_edit import BulkEdit


class AddAudioTrackForm(forms.Form):
    file = forms.FileField(help_text="MP3, WAV, FLAC or OGG, at least 3 seconds.")
    title = forms.CharField(max_length=500, required=False, help_text="Defaults to the file name.")
    artist = forms.CharField(max_length=500, required=False)
    genre = forms.CharField(max_length=100, required=False)
    tags = forms.CharField(max_length=500, required=False, help_text="Comma-separated, e.g. 'chill, night'.")

    def tag_list(self) -> list[str]:
        return [t.strip() for t in self.cleaned_data.get("tags", "").split(",") if t.strip()]


def _tag_list(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


class BulkEditForm(forms.Form):
    """The bulk edit's confirmation form: every field left empty leaves that field as it is."""

    ACTIVE_CHOICES = (("", "Leave as it is"), ("1", "Active"), ("0", "Inactive"))

    genre = forms.CharField(max_length=100, required=False, help_text="Empty: leave as it is.")
    clear_genre = forms.BooleanField(required=False, label="Clear the genre")
    language = forms.CharField(
        max_length=35, required=False, help_text="e.g. en, pt-BR. Empty: leave as it is."
    )
    clear_language = forms.BooleanField(required=False, label="Clear the language")
    add_tags = forms.CharField(max_length=500, required=False, help_text="Comma-separated.")
    remove_tags = forms.CharField(max_length=500, required=False, help_text="Comma-separated.")
    is_active = forms.ChoiceField(choices=ACTIVE_CHOICES, required=False, label="Active")

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        for name in ("genre", "language"):
            if data.get(name) and data.get(f"clear_{name}"):
                self.add_error(f"clear_{name}", f"Either set the {name} or clear it, not both.")
        return data

    def edit(self) -> BulkEdit:
        data = self.cleaned_data
        active = data.get("is_active")
        return BulkEdit(
            genre="" if data["clear_genre"] else (data["genre"] or None),
            language="" if data["clear_language"] else (data["language"] or None),
            add_tags=_tag_list(data["add_tags"]),
            remove_tags=_tag_list(data["remove_tags"]),
            is_active=None if not active else active == "1",
        )
