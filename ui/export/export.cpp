#include "export/export.h"

#include "export/filewrite.h"

#include <QBuffer>
#include <QFileInfo>
#include <QImage>
#include <QPainter>
#include <QPdfWriter>
#include <QSvgGenerator>
#include <QSvgRenderer>
#include <QWidget>

namespace initscope::ui {

namespace {
bool fail(QString* error, const QString& message) {
    if (error)
        *error = message;
    return false;
}
/// The widget as drawn, as SVG text (vector).
QByteArray renderSvg(QWidget* widget, const QRect& source, const QString& title) {
    QBuffer buffer;
    buffer.open(QIODevice::WriteOnly);
    QSvgGenerator svg;
    svg.setOutputDevice(&buffer);
    svg.setSize(source.size());
    // the screen's 96 dpi: text is laid out at the size it has in the window and the PNG
    svg.setResolution(96);
    svg.setViewBox(QRect(QPoint(0, 0), source.size()));
    svg.setTitle(title.isEmpty() ? widget->objectName() : title);
    svg.setDescription(QStringLiteral("initscope"));
    QPainter painter(&svg);
    widget->render(&painter, QPoint(), QRegion(source));
    painter.end();
    return buffer.data();
}
} // namespace

bool exportWidget(QWidget* widget, const QString& path, QString* error) {
    return exportWidget(widget, path, ExportOptions{}, error);
}

bool exportWidget(QWidget* widget, const QString& path, const ExportOptions& options,
                  QString* error) {
    if (!(options.scale >= 0.25 && options.scale <= 8))
        return fail(
            error, QStringLiteral("Cannot export %1: the scale must be from 0.25 to 8.").arg(path));
    const QString suffix = QFileInfo(path).suffix().toLower();
    if (suffix != QLatin1String("png") && suffix != QLatin1String("svg") &&
        suffix != QLatin1String("pdf"))
        return fail(error, QStringLiteral("Cannot export to %1: the file name must end in .png, "
                                          ".svg or .pdf.")
                               .arg(path));
    // Every format is encoded in memory first: QImage::save, QSvgGenerator and QPdfWriter do not
    // report a failed write of their device, so the file itself is written by a checked writer.
    QBuffer file;
    file.open(QIODevice::WriteOnly);
    const QRect source = options.source.isEmpty() ? widget->rect() : options.source;
    const QSize size = source.size();
    if (suffix == QLatin1String("png")) {
        QImage image((QSizeF(size) * options.scale).toSize(), QImage::Format_ARGB32);
        if (image.isNull())
            return fail(error, QStringLiteral("Cannot export %1: %2 x %3 pixels is too large.")
                                   .arg(path)
                                   .arg(size.width() * options.scale)
                                   .arg(size.height() * options.scale));
        image.setDevicePixelRatio(options.scale);
        if (!options.presetJson.isEmpty())
            image.setText(QString::fromLatin1(kFigurePresetKey), options.presetJson);
        image.fill(widget->palette().color(QPalette::Base));
        QPainter painter(&image);
        widget->render(&painter, QPoint(), QRegion(source));
        painter.end();
        if (!image.save(&file, "PNG"))
            return fail(error, QStringLiteral("Cannot encode %1 as PNG.").arg(path));
    } else if (suffix == QLatin1String("svg")) {
        QByteArray text = renderSvg(widget, source, options.title);
        if (!options.presetJson.isEmpty()) {
            // <metadata> right after the opening <svg ...> tag; the JSON as escaped text
            const qsizetype open = text.indexOf("<svg");
            const qsizetype end = open < 0 ? -1 : text.indexOf('>', open);
            if (end < 0)
                return fail(error, QStringLiteral("Cannot encode %1 as SVG.").arg(path));
            const QByteArray meta = QByteArray("\n<metadata><") + kFigurePresetKey + " xmlns=\"" +
                                    kFigureMetadataNamespace + "\">" +
                                    options.presetJson.toHtmlEscaped().toUtf8() + "</" +
                                    kFigurePresetKey + "></metadata>\n";
            text.insert(end + 1, meta);
        }
        file.write(text);
    } else {
        QPdfWriter pdf(&file);
        pdf.setCreator(QStringLiteral("initscope"));
        if (!options.title.isEmpty())
            pdf.setTitle(options.title);
        pdf.setResolution(96);
        pdf.setPageSize(QPageSize(QSizeF(size), QPageSize::Point));
        pdf.setPageMargins(QMarginsF(0, 0, 0, 0));
        QPainter painter(&pdf);
        // Drawn through SVG: a chart rendered straight onto the PDF device lays its text out
        // again at that device's metrics inside geometry made for the screen, and loses legend
        // entries and markers; the SVG generator keeps the screen layout, the PDF stays vector.
        QSvgRenderer svg(renderSvg(widget, source, options.title));
        svg.render(&painter, QRectF(painter.viewport()));
        if (!painter.end())
            return fail(error, QStringLiteral("Cannot encode %1 as PDF.").arg(path));
    }
    file.close();
    return writeFileReplacing(path, file.data(), error);
}

bool saveText(const QString& text, const QString& path, QString* error) {
    return writeFileReplacing(path, text.toUtf8(), error);
}

} // namespace initscope::ui
